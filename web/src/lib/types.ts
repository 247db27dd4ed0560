// Shapes of the Discord-compatible objects Hearth sends. Only the fields the
// client reads are typed; IDs and permission bitfields are strings.

export type Snowflake = string;

export interface User {
  id: Snowflake;
  username: string;
  global_name?: string | null;
  avatar?: string | null;
  bot?: boolean;
  bio?: string | null;
  /** Hearth's: a bridge's puppet of someone on Discord (spec/federation.md §5). */
  hearth_bridged?: boolean;
}

export interface Role {
  id: Snowflake;
  name: string;
  color: number;
  hoist: boolean;
  position: number;
  permissions: string;
  mentionable?: boolean;
}

export interface Emoji {
  id: Snowflake | null;
  name: string | null;
  animated?: boolean;
}

export interface Overwrite {
  id: Snowflake;
  type: number | string;
  allow: string;
  deny: string;
}

export interface Channel {
  id: Snowflake;
  type: number;
  guild_id?: Snowflake;
  name?: string | null;
  position?: number;
  parent_id?: Snowflake | null;
  topic?: string | null;
  last_message_id?: Snowflake | null;
  recipients?: User[];
  thread_metadata?: { archived: boolean; locked?: boolean };
  owner_id?: Snowflake;
}

export interface Member {
  user?: User;
  nick?: string | null;
  roles: Snowflake[];
  joined_at?: string;
  avatar?: string | null;
}

export interface Presence {
  user: { id: Snowflake };
  status: string;
  guild_id?: Snowflake;
  activities?: { type: number; name?: string; state?: string | null }[];
}

export interface Guild {
  id: Snowflake;
  name: string;
  icon?: string | null;
  owner_id?: Snowflake;
  channels?: Channel[];
  threads?: Channel[];
  roles?: Role[];
  emojis?: Emoji[];
  members?: Member[];
  presences?: Presence[];
  member_count?: number;
  unavailable?: boolean;
}

export interface Attachment {
  id: Snowflake;
  filename: string;
  size: number;
  url: string;
  proxy_url?: string;
  content_type?: string;
  width?: number | null;
  height?: number | null;
}

export interface Reaction {
  count: number;
  me: boolean;
  emoji: Emoji;
}

export interface MessageReference {
  message_id?: Snowflake;
  channel_id?: Snowflake;
  guild_id?: Snowflake;
}

export interface Message {
  id: Snowflake;
  channel_id: Snowflake;
  guild_id?: Snowflake;
  author: User;
  member?: Member;
  content: string;
  timestamp: string;
  edited_timestamp?: string | null;
  mention_everyone?: boolean;
  mentions?: User[];
  mention_roles?: Snowflake[];
  attachments?: Attachment[];
  embeds?: unknown[];
  reactions?: Reaction[];
  nonce?: string | number | null;
  pinned?: boolean;
  type: number;
  flags?: number;
  message_reference?: MessageReference;
  referenced_message?: Message | null;
  thread?: Channel;
  /** Bots' messages (issue 14): components, the answering application, the interaction. */
  components?: Component[];
  application_id?: Snowflake;
  webhook_id?: Snowflake;
  interaction_metadata?: { id: Snowflake; type: number; user?: User; name?: string };
}

/** A message component (action row, button, select, text input), Discord's shape. */
export interface Component {
  type: number;
  custom_id?: string;
  style?: number;
  label?: string;
  emoji?: Emoji | null;
  url?: string;
  disabled?: boolean;
  placeholder?: string;
  min_values?: number;
  max_values?: number;
  options?: { label: string; value: string; description?: string; default?: boolean }[];
  /** Channel selects: the channel types offered (all when absent). */
  channel_types?: number[];
  /** Auto-populated selects: what starts chosen. */
  default_values?: { id: string; type: 'user' | 'role' | 'channel' }[];
  min_length?: number;
  max_length?: number;
  required?: boolean;
  value?: string;
  components?: Component[];
}

/** An application command option (issue 14). */
export interface CommandOption {
  type: number;
  name: string;
  description: string;
  required?: boolean;
  autocomplete?: boolean;
  choices?: { name: string; value: string | number }[];
  options?: CommandOption[];
  min_value?: number;
  max_value?: number;
}

/** An application command as the command index lists it. */
export interface AppCommand {
  id: Snowflake;
  application_id: Snowflake;
  type: number;
  name: string;
  description: string;
  options?: CommandOption[];
  guild_id?: Snowflake;
}

export interface WellKnown {
  server_name: string;
  software: string;
  version?: string;
  client_api: string;
  gateway: string;
}

export interface Invite {
  code: string;
  guild?: { id: Snowflake; name: string; icon?: string | null };
  channel?: { id: Snowflake; name?: string };
  approximate_member_count?: number;
  approximate_presence_count?: number;
}
