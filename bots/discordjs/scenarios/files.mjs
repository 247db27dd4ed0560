// A discord.js v14 bot that reads a command's attachment option
// (options.getAttachment, then fetches its URL), answers with a file,
// follows up a deferred answer with a file, and puts a button on an
// ephemeral reply whose click it answers with update(). It is done once
// the ephemeral message's button is handled (the test clicks it last).
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  GatewayIntentBits,
  MessageFlags,
} from 'discord.js';

export const intents = [GatewayIntentBits.Guilds];

const commands = [
  {
    name: 'upload',
    description: 'Read a file',
    options: [{ type: ApplicationCommandOptionType.Attachment, name: 'file', description: 'the file', required: true }],
  },
  { name: 'later', description: 'A file after a deferral' },
  { name: 'hidden', description: 'An ephemeral button' },
];

export async function run({ client, emit }) {
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const fail = (err) => emit('error', { where: 'interaction handler', message: String(err?.stack ?? err) });

  client.on('interactionCreate', (interaction) => handle(interaction).catch(fail));

  async function handle(interaction) {
    if (interaction.isChatInputCommand()) {
      switch (interaction.commandName) {
        case 'upload': {
          const file = interaction.options.getAttachment('file', true);
          const body = await (await fetch(file.url)).text();
          emit('upload', { name: file.name, size: file.size, id: file.id });
          await interaction.reply({
            content: `got ${file.name} ${body.length} bytes`,
            files: [new AttachmentBuilder(Buffer.from(`echo:${body}`), { name: 'echo.txt' })],
          });
          break;
        }
        case 'later': {
          await interaction.deferReply();
          const msg = await interaction.followUp({
            content: 'report',
            files: [new AttachmentBuilder(Buffer.from('report body'), { name: 'report.txt' })],
          });
          emit('later', { message: msg.id, files: msg.attachments.size });
          break;
        }
        case 'hidden': {
          const row = new ActionRowBuilder().addComponents(
            new ButtonBuilder().setCustomId('reveal').setLabel('Reveal').setStyle(ButtonStyle.Primary),
          );
          await interaction.reply({ content: 'hidden', components: [row], flags: MessageFlags.Ephemeral });
          emit('hidden');
          break;
        }
        default:
          await interaction.reply(`unexpected ${interaction.commandName}`);
      }
    } else if (interaction.isButton()) {
      emit('button', {
        custom_id: interaction.customId,
        ephemeral: interaction.message.flags.has(MessageFlags.Ephemeral),
        content: interaction.message.content,
      });
      await interaction.update({ content: 'revealed', components: [] });
      finish();
    }
  }

  const registered = await client.application.commands.set(commands);
  emit('registered', { names: [...registered.values()].map((c) => c.name).sort() });
  await finished;
}
