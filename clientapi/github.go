package clientapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
)

// GitHub-compatible execute (/webhooks/{id}/{token}/github): a repository's
// GitHub webhook pointed at it posts its events as embeds, the way
// Discord renders them. The event is named by the X-GitHub-Event header;
// the events rendered are below, every other one (and an action of them
// that is not shown, such as an issue being labelled) is accepted and
// ignored with 204, so that GitHub counts the delivery as good.

// Embed colours of the GitHub events, as Discord shows them.
const (
	githubPushColor    = 0x7289DA
	githubOpenColor    = 0xEB6420
	githubPRColor      = 0x009800
	githubClosedColor  = 0x000000
	githubCommentColor = 0xE68D60
	githubReleaseColor = 0x7289DA
	// githubDescMax bounds an embed's description taken from an issue,
	// pull request, comment or release body.
	githubDescMax = 500
	// githubCommitsShown is how many commits of a push are listed.
	githubCommitsShown = 5
	// githubMaxBody bounds an event's JSON.
	githubMaxBody = 4 << 20
)

// githubUser is the sender (or a commit's author) of a GitHub event.
type githubUser struct {
	Login     string `json:"login"`
	AvatarURL string `json:"avatar_url"`
	HTMLURL   string `json:"html_url"`
}

// githubIssue is an issue or pull request of an event.
type githubIssue struct {
	Number      int             `json:"number"`
	Title       string          `json:"title"`
	Body        string          `json:"body"`
	HTMLURL     string          `json:"html_url"`
	Merged      bool            `json:"merged"`
	PullRequest json.RawMessage `json:"pull_request"`
}

// githubEvent holds the fields of the events rendered; GitHub sends many
// more, which are not read.
type githubEvent struct {
	Action     string `json:"action"`
	Ref        string `json:"ref"`
	Created    bool   `json:"created"`
	Deleted    bool   `json:"deleted"`
	Compare    string `json:"compare"`
	Repository struct {
		FullName string `json:"full_name"`
		Name     string `json:"name"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
	Sender  githubUser `json:"sender"`
	Commits []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
		URL     string `json:"url"`
		Author  struct {
			Name     string `json:"name"`
			Username string `json:"username"`
		} `json:"author"`
	} `json:"commits"`
	Issue       *githubIssue `json:"issue"`
	PullRequest *githubIssue `json:"pull_request"`
	Comment     *struct {
		Body    string `json:"body"`
		HTMLURL string `json:"html_url"`
	} `json:"comment"`
	Release *struct {
		TagName string `json:"tag_name"`
		Name    string `json:"name"`
		Body    string `json:"body"`
		HTMLURL string `json:"html_url"`
	} `json:"release"`
	Zen string `json:"zen"`
}

// clip shortens s to n characters, with an ellipsis when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// githubEmbed renders a GitHub event as Discord does, or nil when the
// event (or its action) is not shown.
func githubEmbed(kind string, ev githubEvent) json.RawMessage {
	repo := ev.Repository.FullName
	if repo == "" {
		repo = ev.Repository.Name
	}
	e := map[string]any{"type": "rich"}
	if ev.Sender.Login != "" {
		author := map[string]any{"name": ev.Sender.Login}
		if ev.Sender.AvatarURL != "" {
			author["icon_url"] = ev.Sender.AvatarURL
		}
		if ev.Sender.HTMLURL != "" {
			author["url"] = ev.Sender.HTMLURL
		}
		e["author"] = author
	}
	set := func(title, link, desc string, color int) {
		e["title"], e["color"] = clip(title, 256), color
		if link != "" {
			e["url"] = link
		}
		if desc = strings.TrimSpace(desc); desc != "" {
			e["description"] = clip(desc, githubDescMax)
		}
	}
	switch kind {
	case "push":
		ref := ev.Ref
		branch, isBranch := strings.CutPrefix(ref, "refs/heads/")
		tag, isTag := strings.CutPrefix(ref, "refs/tags/")
		switch {
		case ev.Deleted && isBranch:
			set(fmt.Sprintf("[%s] Branch deleted: %s", repo, branch), ev.Repository.HTMLURL, "", githubClosedColor)
		case ev.Deleted && isTag:
			set(fmt.Sprintf("[%s] Tag deleted: %s", repo, tag), ev.Repository.HTMLURL, "", githubClosedColor)
		case isTag:
			set(fmt.Sprintf("[%s] New tag created: %s", repo, tag), ev.Compare, "", githubPushColor)
		case len(ev.Commits) == 0 && ev.Created:
			set(fmt.Sprintf("[%s] New branch created: %s", repo, branch), ev.Compare, "", githubPushColor)
		case len(ev.Commits) == 0:
			return nil
		default:
			noun := "commits"
			if len(ev.Commits) == 1 {
				noun = "commit"
			}
			var lines []string
			for i, c := range ev.Commits {
				if i == githubCommitsShown {
					break
				}
				msg, _, _ := strings.Cut(c.Message, "\n")
				who := c.Author.Username
				if who == "" {
					who = c.Author.Name
				}
				sha := c.ID
				if len(sha) > 7 {
					sha = sha[:7]
				}
				lines = append(lines, fmt.Sprintf("[`%s`](%s) %s - %s", sha, c.URL, clip(msg, 50), who))
			}
			set(fmt.Sprintf("[%s:%s] %d new %s", repo, branch, len(ev.Commits), noun), ev.Compare, strings.Join(lines, "\n"), githubPushColor)
		}
	case "issues":
		if ev.Issue == nil {
			return nil
		}
		switch ev.Action {
		case "opened":
			set(fmt.Sprintf("[%s] Issue opened: #%d %s", repo, ev.Issue.Number, ev.Issue.Title), ev.Issue.HTMLURL, ev.Issue.Body, githubOpenColor)
		case "closed", "reopened":
			set(fmt.Sprintf("[%s] Issue %s: #%d %s", repo, ev.Action, ev.Issue.Number, ev.Issue.Title), ev.Issue.HTMLURL, "", githubClosedColor)
		default:
			return nil
		}
	case "pull_request":
		pr := ev.PullRequest
		if pr == nil {
			return nil
		}
		switch {
		case ev.Action == "opened":
			set(fmt.Sprintf("[%s] Pull request opened: #%d %s", repo, pr.Number, pr.Title), pr.HTMLURL, pr.Body, githubPRColor)
		case ev.Action == "closed" && pr.Merged:
			set(fmt.Sprintf("[%s] Pull request merged: #%d %s", repo, pr.Number, pr.Title), pr.HTMLURL, "", githubClosedColor)
		case ev.Action == "closed", ev.Action == "reopened":
			set(fmt.Sprintf("[%s] Pull request %s: #%d %s", repo, ev.Action, pr.Number, pr.Title), pr.HTMLURL, "", githubClosedColor)
		default:
			return nil
		}
	case "issue_comment":
		if ev.Issue == nil || ev.Comment == nil || ev.Action != "created" {
			return nil
		}
		what := "issue"
		if len(ev.Issue.PullRequest) > 0 && string(ev.Issue.PullRequest) != "null" {
			what = "pull request"
		}
		set(fmt.Sprintf("[%s] New comment on %s #%d: %s", repo, what, ev.Issue.Number, ev.Issue.Title), ev.Comment.HTMLURL,
			ev.Comment.Body, githubCommentColor)
	case "release":
		if ev.Release == nil || ev.Action != "published" {
			return nil
		}
		name := ev.Release.Name
		if name == "" {
			name = ev.Release.TagName
		}
		set(fmt.Sprintf("[%s] New release published: %s", repo, name), ev.Release.HTMLURL, ev.Release.Body, githubReleaseColor)
	default:
		// ping (GitHub's check that the hook works) and every other
		// event: nothing to show.
		return nil
	}
	b, _ := json.Marshal(e) // strings and numbers always marshal
	return b
}

// webhookExecuteGitHub is the GitHub-compatible execute: the event named
// by X-GitHub-Event, as JSON (or the form field payload, GitHub's other
// content type), posted as an embed. It answers 204 (with ?wait=true, the
// message, or 204 for an event that is not shown).
func (a *API) webhookExecuteGitHub(c *gin.Context) {
	ids, threadID, ok := a.executeTarget(c)
	if !ok {
		return
	}
	// The token first: an unknown webhook is 10015 whatever it is sent.
	if _, err := a.hs.Webhook(reqCtx(c), nil, ids[0], c.Param("token")); err != nil {
		a.fail(c, err)
		return
	}
	body, err := serviceBody(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var ev githubEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		a.fail(c, errMalformedJSON)
		return
	}
	embed := githubEmbed(c.GetHeader("X-GitHub-Event"), ev)
	if embed == nil {
		c.Status(http.StatusNoContent)
		return
	}
	a.execute(c, ids[0], threadID, homeserver.MessageCreate{Embeds: []json.RawMessage{embed}}, webhookExtras{service: true})
}
