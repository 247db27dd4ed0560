// A bot as most are written: it waits for a message that says
// args.trigger, replies to it, reacts to it and edits its reply. It also
// reads what bots read on start: its application, the guild's roles (their
// colors) and the channel.
import { GatewayIntentBits } from 'discord.js';

export const intents = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.GuildMessageReactions,
  GatewayIntentBits.MessageContent,
];

export async function run({ client, args, emit }) {
  const received = new Promise((resolve) => {
    client.on('messageCreate', (m) => {
      if (!m.author.bot && m.content === args.trigger) resolve(m);
    });
  });
  const app = await client.application.fetch();
  const guild = client.guilds.cache.get(args.guild);
  if (!guild) throw new Error(`guild ${args.guild} not in the cache: ${[...client.guilds.cache.keys()]}`);
  const everyone = guild.roles.everyone;
  emit('started', {
    application: app.id,
    guild: guild.name,
    roles: guild.roles.cache.size,
    everyone_color: everyone.colors.primaryColor,
    channels: guild.channels.cache.size,
  });

  const msg = await received;
  emit('received', { id: msg.id, content: msg.content, author: msg.author.username, channel: msg.channelId });
  const reply = await msg.reply('pong');
  emit('replied', { id: reply.id, reference: reply.reference?.messageId ?? null });
  await msg.react('👍');
  emit('reacted');
  const edited = await reply.edit('pong (edited)');
  emit('edited', { id: edited.id, content: edited.content, edited: edited.editedTimestamp !== null });
}
