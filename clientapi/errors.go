package clientapi

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
)

// apiError is Discord's error body. Errors holds per-field problems for
// 50035 Invalid Form Body, nested by field path.
type apiError struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Errors  map[string]any `json:"errors,omitempty"`
	// RetryAfter is set (in seconds) on slowmode's 429.
	RetryAfter float64 `json:"retry_after,omitempty"`
}

// Errors the adapter itself raises, before the domain is reached.
var (
	errMalformedJSON  = errors.New("malformed JSON body")
	errBodyTooLarge   = errors.New("request body too large")
	errInvalidVersion = errors.New("invalid API version")
	// errReactionEmoji marks an unknown or malformed emoji on a reaction
	// route, which Discord answers with 400 (an emoji route answers 404).
	errReactionEmoji = errors.New("bad reaction emoji")
)

// reactionErr marks err as a reaction route's when it is about the emoji.
func reactionErr(err error) error {
	if errors.Is(err, homeserver.ErrUnknownEmoji) {
		return fmt.Errorf("%w: %w", errReactionEmoji, err)
	}
	return err
}

// statusFor maps an error to its HTTP status and Discord body. This is the
// one place where domain errors become Discord error codes.
func statusFor(err error) (int, apiError) {
	var v *homeserver.ValidationError
	var slow *homeserver.SlowmodeError
	var limited *homeserver.RateLimitedError
	switch {
	case errors.As(err, &limited):
		return http.StatusTooManyRequests, apiError{Code: 0, Message: "You are being rate limited.",
			RetryAfter: float64(limited.RetryAfter.Milliseconds()) / 1000}
	case errors.Is(err, homeserver.ErrFriendRequestRefused):
		return http.StatusBadRequest, apiError{Code: 80000, Message: "Incoming friend requests disabled."}
	case errors.Is(err, homeserver.ErrFriendRequestBlocked):
		return http.StatusBadRequest, apiError{Code: 80001, Message: "Friend request blocked."}
	case errors.Is(err, homeserver.ErrFriendBot):
		return http.StatusBadRequest, apiError{Code: 80002, Message: "Bots cannot have friends."}
	case errors.Is(err, homeserver.ErrFriendSelf):
		return http.StatusBadRequest, apiError{Code: 80003, Message: "Cannot send friend request to self."}
	case errors.Is(err, homeserver.ErrNoSuchUserTag):
		return http.StatusBadRequest, apiError{Code: 80004, Message: "No users with DiscordTag exist."}
	case errors.Is(err, homeserver.ErrAlreadyFriends):
		return http.StatusBadRequest, apiError{Code: 80007, Message: "You are already friends with that user."}
	case errors.As(err, &slow):
		return http.StatusTooManyRequests, apiError{Code: 20016, Message: "This action cannot be performed due to slowmode rate limit.",
			RetryAfter: float64(slow.RetryAfter.Milliseconds()) / 1000}
	case errors.As(err, &v):
		return http.StatusBadRequest, apiError{Code: 50035, Message: "Invalid Form Body", Errors: nestErrors(v)}
	case errors.Is(err, errMalformedJSON):
		return http.StatusBadRequest, apiError{Code: 50109, Message: "The request body contains invalid JSON."}
	case errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge, apiError{Code: 40005, Message: "Request entity too large"}
	case errors.Is(err, errInvalidVersion):
		return http.StatusBadRequest, apiError{Code: 50041, Message: "Invalid API version provided."}
	case errors.Is(err, homeserver.ErrUnauthorized):
		return http.StatusUnauthorized, apiError{Code: 0, Message: "401: Unauthorized"}
	case errors.Is(err, homeserver.ErrUnknownUser):
		return http.StatusNotFound, apiError{Code: 10013, Message: "Unknown User"}
	case errors.Is(err, homeserver.ErrUnknownGuild):
		return http.StatusNotFound, apiError{Code: 10004, Message: "Unknown Guild"}
	case errors.Is(err, homeserver.ErrUnknownChannel):
		return http.StatusNotFound, apiError{Code: 10003, Message: "Unknown Channel"}
	case errors.Is(err, homeserver.ErrUnknownRole):
		return http.StatusNotFound, apiError{Code: 10011, Message: "Unknown Role"}
	case errors.Is(err, homeserver.ErrUnknownMember):
		return http.StatusNotFound, apiError{Code: 10007, Message: "Unknown Member"}
	case errors.Is(err, homeserver.ErrUnknownApplication):
		return http.StatusNotFound, apiError{Code: 10002, Message: "Unknown Application"}
	case errors.Is(err, homeserver.ErrUnknownCommand):
		return http.StatusNotFound, apiError{Code: 10063, Message: "Unknown application command"}
	case errors.Is(err, homeserver.ErrUnknownCommandPermissions):
		return http.StatusNotFound, apiError{Code: 10066, Message: "Unknown application command permissions"}
	case errors.Is(err, homeserver.ErrMaxCommands):
		return http.StatusBadRequest, apiError{Code: 30032, Message: "Maximum number of application commands reached"}
	case errors.Is(err, homeserver.ErrUnknownInteraction):
		return http.StatusNotFound, apiError{Code: 10062, Message: "Unknown interaction"}
	case errors.Is(err, homeserver.ErrUnknownInteractionWebhook):
		return http.StatusNotFound, apiError{Code: 10015, Message: "Unknown Webhook"}
	case errors.Is(err, homeserver.ErrInteractionAcknowledged):
		return http.StatusBadRequest, apiError{Code: 40060, Message: "Interaction has already been acknowledged."}
	case errors.Is(err, homeserver.ErrBotsForbidden):
		return http.StatusForbidden, apiError{Code: 20001, Message: "Bots cannot use this endpoint"}
	case errors.Is(err, homeserver.ErrUnknownInvite):
		return http.StatusNotFound, apiError{Code: 10006, Message: "Unknown Invite"}
	case errors.Is(err, homeserver.ErrUnknownBan):
		return http.StatusNotFound, apiError{Code: 10026, Message: "Unknown Ban"}
	case errors.Is(err, homeserver.ErrUnknownWebhook):
		return http.StatusNotFound, apiError{Code: 10015, Message: "Unknown Webhook"}
	case errors.Is(err, homeserver.ErrWebhookThreadName):
		return http.StatusBadRequest, apiError{Code: 220003, Message: "Webhooks can only create threads in forum channels"}
	case errors.Is(err, homeserver.ErrWebhookForumThread):
		return http.StatusBadRequest, apiError{Code: 220001, Message: "Webhooks posted to forum channels must have a thread_name or thread_id"}
	case errors.Is(err, homeserver.ErrWebhookThreadBoth):
		return http.StatusBadRequest, apiError{Code: 220002, Message: "Webhooks posted to forum channels cannot have both a thread_name and thread_id"}
	case errors.Is(err, homeserver.ErrWebhookServiceForum):
		return http.StatusBadRequest, apiError{Code: 220004, Message: "Webhook services cannot be used in forum channels"}
	case errors.Is(err, homeserver.ErrForumMessage):
		return http.StatusBadRequest, apiError{Code: 40058, Message: "Cannot send messages in a forum channel"}
	case errors.Is(err, errReactionEmoji):
		return http.StatusBadRequest, apiError{Code: 10014, Message: "Unknown Emoji"}
	case errors.Is(err, homeserver.ErrUnknownEmoji):
		return http.StatusNotFound, apiError{Code: 10014, Message: "Unknown Emoji"}
	case errors.Is(err, homeserver.ErrUnknownOverwrite):
		return http.StatusNotFound, apiError{Code: 10009, Message: "Unknown Overwrite"}
	case errors.Is(err, homeserver.ErrRemoteGuild), errors.Is(err, homeserver.ErrForbidden):
		return http.StatusForbidden, apiError{Code: 50001, Message: "Missing Access: " + err.Error()}
	case errors.Is(err, homeserver.ErrBanned):
		return http.StatusForbidden, apiError{Code: 40007, Message: "The user is banned from this guild."}
	case errors.Is(err, homeserver.ErrMaxGuilds):
		return http.StatusBadRequest, apiError{Code: 30001, Message: "Maximum number of guilds reached (200)"}
	case errors.Is(err, homeserver.ErrMaxRoles):
		return http.StatusBadRequest, apiError{Code: 30005, Message: "Maximum number of guild roles reached (250)"}
	case errors.Is(err, homeserver.ErrMaxEmojis):
		return http.StatusBadRequest, apiError{Code: 30008, Message: "Maximum number of emojis reached"}
	case errors.Is(err, homeserver.ErrMaxChannels):
		return http.StatusBadRequest, apiError{Code: 30013, Message: "Maximum number of guild channels reached (500)"}
	case errors.Is(err, homeserver.ErrRegistrationClosed):
		return http.StatusForbidden, apiError{Code: 0, Message: "Registration is closed on this homeserver; ask its operator for an account."}
	case errors.Is(err, homeserver.ErrEmailDisabled):
		return http.StatusBadRequest, apiError{Code: 0, Message: "This homeserver sends no mail."}
	case errors.Is(err, homeserver.ErrExportRunning):
		return http.StatusTooManyRequests, apiError{Code: 0, Message: "An export of this account is already being written; wait for it to finish."}
	case errors.Is(err, homeserver.ErrOwnsGuilds):
		return http.StatusBadRequest, apiError{Code: 40011, Message: "You must transfer ownership of any owned guilds before deleting your account"}
	case errors.Is(err, homeserver.ErrOwnerCannotLeave):
		return http.StatusBadRequest, apiError{Code: 0, Message: "The owner cannot leave the guild; transfer ownership or delete it."}
	case errors.Is(err, homeserver.ErrUnknownMessage):
		return http.StatusNotFound, apiError{Code: 10008, Message: "Unknown Message"}
	case errors.Is(err, homeserver.ErrMaxPins):
		return http.StatusBadRequest, apiError{Code: 30003, Message: "Maximum number of pins reached (50)"}
	case errors.Is(err, homeserver.ErrBulkDeleteTooOld):
		return http.StatusBadRequest, apiError{Code: 50034, Message: "You can only bulk delete messages that are under 14 days old."}
	case errors.Is(err, homeserver.ErrEmptyMessage):
		return http.StatusBadRequest, apiError{Code: 50006, Message: "Cannot send an empty message"}
	case errors.Is(err, homeserver.ErrNotAuthor):
		return http.StatusForbidden, apiError{Code: 50005, Message: "Cannot edit a message authored by another user"}
	case errors.Is(err, homeserver.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, apiError{Code: 40005, Message: "Request entity too large"}
	case errors.Is(err, homeserver.ErrCannotDM):
		return http.StatusBadRequest, apiError{Code: 50007, Message: "Cannot send messages to this user"}
	case errors.Is(err, homeserver.ErrThreadExists):
		return http.StatusBadRequest, apiError{Code: 160004, Message: "A thread has already been created for this message"}
	case errors.Is(err, homeserver.ErrThreadArchived):
		return http.StatusBadRequest, apiError{Code: 50083, Message: "Thread is archived"}
	case errors.Is(err, homeserver.ErrThreadLocked):
		return http.StatusForbidden, apiError{Code: 160005, Message: "Thread is locked"}
	case errors.Is(err, homeserver.ErrNotFound):
		return http.StatusNotFound, apiError{Code: 0, Message: "404: Not Found"}
	case errors.Is(err, homeserver.ErrMissingAccess):
		return http.StatusForbidden, apiError{Code: 50001, Message: "Missing Access"}
	case errors.Is(err, homeserver.ErrMirrorAuthority):
		return http.StatusForbidden, apiError{Code: 50013, Message: "Missing Permissions: this guild mirrors a Discord guild, which decides its roles, channels and settings; make the change on Discord"}
	case errors.Is(err, homeserver.ErrMissingPermission):
		return http.StatusForbidden, apiError{Code: 50013, Message: "Missing Permissions"}
	case errors.Is(err, homeserver.ErrStorageFull):
		// Before ErrUnavailable, which a failed store is also wrapped
		// in. Discord has no code for it: 0, with a sentence that tells
		// the client the write is worth trying again later.
		return http.StatusInsufficientStorage, apiError{Code: 0, Message: "507: Insufficient Storage: the homeserver's disk is full; nothing was saved, try again later."}
	case errors.Is(err, homeserver.ErrUnavailable):
		return http.StatusServiceUnavailable, apiError{Code: 0, Message: "503: Service Unavailable"}
	default:
		return http.StatusInternalServerError, apiError{Code: 0, Message: "500: Internal Server Error"}
	}
}

// fail answers the request with err's Discord error and stops the chain.
// Server-side failures are logged with their cause; client mistakes are not.
func (a *API) fail(c *gin.Context, err error) {
	status, body := statusFor(err)
	if status == http.StatusTooManyRequests {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(body.RetryAfter))))
	}
	switch {
	case status == http.StatusInsufficientStorage:
		// Every write fails alike while the disk is full: one line per
		// interval says so (with how many more were refused), rather
		// than a line per request into a log that may share the disk.
		if n, ok := a.fullLog.allow(time.Now()); ok {
			a.log.Error("write refused: the data dir's disk is full; free space and writes resume", "method", c.Request.Method,
				"route", c.FullPath(), "status", status, "refused_since_last_line", n, "err", err)
		}
	case status >= 500:
		a.log.Error("request failed", "method", c.Request.Method, "route", c.FullPath(), "status", status, "err", err)
	}
	c.AbortWithStatusJSON(status, body)
}

// fullLogEvery is how often at most the client API logs refusals for a
// full disk.
const fullLogEvery = 10 * time.Second

// logLimiter lets one log line through per interval and counts the ones
// it held back. The zero value is ready.
type logLimiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether a line may be logged at now, and how many were
// held back since the last one that was.
func (l *logLimiter) allow(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < fullLogEvery {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}

// nestErrors turns {"a.b": [...]} into {"a": {"b": {"_errors": [...]}}}.
func nestErrors(v *homeserver.ValidationError) map[string]any {
	out := map[string]any{}
	for path, list := range v.Fields {
		node := out
		for _, part := range strings.Split(path, ".") {
			next, ok := node[part].(map[string]any)
			if !ok {
				next = map[string]any{}
				node[part] = next
			}
			node = next
		}
		items := make([]map[string]string, 0, len(list))
		for _, fe := range list {
			items = append(items, map[string]string{"code": fe.Code, "message": fe.Message})
		}
		node["_errors"] = items
	}
	return out
}

func notFound(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusNotFound, apiError{Code: 0, Message: "404: Not Found"})
}

func methodNotAllowed(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusMethodNotAllowed, apiError{Code: 0, Message: "405: Method Not Allowed"})
}
