// A slash-command bot as most are written with discord.js v14: on start it
// registers its global and guild commands, then answers what a person does
// with them: a command with options, a deferred answer with an edit and a
// follow-up, buttons and a string select that update their message, a
// modal and its submit, autocomplete, and an ephemeral reply. It is done
// once the ephemeral reply is sent (the test uses it last).
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ButtonBuilder,
  ButtonStyle,
  GatewayIntentBits,
  MessageFlags,
  PermissionFlagsBits,
  ModalBuilder,
  StringSelectMenuBuilder,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';

export const intents = [GatewayIntentBits.Guilds];

const global = [
  {
    name: 'echo',
    description: 'Say it back',
    options: [
      { type: ApplicationCommandOptionType.String, name: 'text', description: 'what', required: true, max_length: 50 },
      { type: ApplicationCommandOptionType.Integer, name: 'times', description: 'how often', min_value: 1, max_value: 5 },
    ],
  },
  {
    name: 'search',
    description: 'Find',
    options: [{ type: ApplicationCommandOptionType.String, name: 'query', description: 'what', required: true, autocomplete: true }],
  },
  { name: 'menu', description: 'Buttons and a select' },
  { name: 'form', description: 'A modal' },
  { name: 'secret', description: 'Only for you' },
  { name: 'slow', description: 'Deferred' },
];

export async function run({ client, args, emit }) {
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const fail = (err) => emit('error', { where: 'interaction handler', message: String(err?.stack ?? err) });

  client.on('interactionCreate', (interaction) => handle(interaction).catch(fail));

  async function handle(interaction) {
    if (interaction.isChatInputCommand()) {
      // What bots read off a command besides its options: the
      // invoker's and the bot's permissions there, the channel, the locale.
      emit('command', {
        name: interaction.commandName,
        id: interaction.id,
        user: interaction.user.id,
        guild: interaction.guildId,
        member: interaction.member?.user?.id ?? null,
        member_can_send: interaction.memberPermissions?.has(PermissionFlagsBits.SendMessages) ?? null,
        app_can_send: interaction.appPermissions?.has(PermissionFlagsBits.SendMessages) ?? null,
        channel: interaction.channel?.id ?? null,
        locale: interaction.locale,
        command_id: interaction.commandId,
      });
      switch (interaction.commandName) {
        case 'echo': {
          const text = interaction.options.getString('text', true);
          const times = interaction.options.getInteger('times') ?? 1;
          await interaction.reply(`echo: ${text} x${times} from ${interaction.user.username}`);
          break;
        }
        case 'slow': {
          await interaction.deferReply();
          const edited = await interaction.editReply('done thinking');
          const more = await interaction.followUp('and one more');
          emit('slow', { original: edited.id, followup: more.id });
          break;
        }
        case 'menu': {
          const buttons = new ActionRowBuilder().addComponents(
            new ButtonBuilder().setCustomId('yes').setLabel('Yes').setStyle(ButtonStyle.Primary),
            new ButtonBuilder().setURL('https://example.org/docs').setLabel('Docs').setStyle(ButtonStyle.Link),
          );
          const select = new ActionRowBuilder().addComponents(
            new StringSelectMenuBuilder().setCustomId('color').setPlaceholder('Colour').addOptions(
              { label: 'Red', value: 'red' },
              { label: 'Blue', value: 'blue' },
            ),
          );
          const reply = await interaction.reply({ content: 'pick', components: [buttons, select], withResponse: true });
          emit('menu', { message: reply.resource?.message?.id ?? null });
          break;
        }
        case 'form': {
          const modal = new ModalBuilder().setCustomId('feedback').setTitle('Feedback').addComponents(
            new ActionRowBuilder().addComponents(
              new TextInputBuilder().setCustomId('text').setLabel('Say something').setStyle(TextInputStyle.Short)
                .setRequired(true).setMinLength(2).setMaxLength(20),
            ),
          );
          await interaction.showModal(modal);
          emit('modal shown');
          break;
        }
        case 'secret': {
          await interaction.reply({ content: 'only you', flags: MessageFlags.Ephemeral });
          emit('secret');
          finish();
          break;
        }
        default:
          await interaction.reply(`unexpected ${interaction.commandName}`);
      }
    } else if (interaction.isButton()) {
      emit('button', { custom_id: interaction.customId, message: interaction.message.id, rows: interaction.message.components.length });
      await interaction.update({ content: `clicked ${interaction.customId}` });
    } else if (interaction.isStringSelectMenu()) {
      emit('select', { custom_id: interaction.customId, values: interaction.values, message: interaction.message.id });
      await interaction.update({ content: `${interaction.customId}: ${interaction.values.join(',')}` });
    } else if (interaction.isModalSubmit()) {
      const value = interaction.fields.getTextInputValue('text');
      emit('modal submit', { custom_id: interaction.customId, value });
      await interaction.reply(`thanks: ${value} for ${interaction.customId}`);
    } else if (interaction.isAutocomplete()) {
      const focused = interaction.options.getFocused(true);
      emit('autocomplete', { name: focused.name, value: focused.value });
      await interaction.respond(
        ['alpha', 'alps', 'beta'].filter((w) => w.startsWith(focused.value)).map((w) => ({ name: w, value: w })),
      );
    }
  }

  const registered = await client.application.commands.set(global);
  const guild = client.guilds.cache.get(args.guild);
  if (!guild) throw new Error(`guild ${args.guild} not in the cache: ${[...client.guilds.cache.keys()]}`);
  const guildCommands = await guild.commands.set([{ name: 'guildonly', description: 'Only here' }]);
  emit('registered', {
    global: [...registered.values()].map((c) => c.name).sort(),
    guild: [...guildCommands.values()].map((c) => c.name),
    echo_options: registered.find((c) => c.name === 'echo')?.options.length ?? 0,
  });
  await finished;
}
