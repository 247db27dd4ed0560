// A discord.js bot that a person drives from Hearth's web client (the
// browser test web/e2e/discordjs.spec.ts): it registers a guild command,
// /greet with a string option, answers it with a button, and updates its
// message when the button is pressed. It is done after the button.
import { ActionRowBuilder, ApplicationCommandOptionType, ButtonBuilder, ButtonStyle, GatewayIntentBits } from 'discord.js';

export const intents = [GatewayIntentBits.Guilds];

export async function run({ client, args, emit }) {
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const fail = (err) => emit('error', { where: 'interaction handler', message: String(err?.stack ?? err) });

  client.on('interactionCreate', (interaction) => handle(interaction).catch(fail));

  async function handle(interaction) {
    if (interaction.isChatInputCommand() && interaction.commandName === 'greet') {
      const name = interaction.options.getString('name', true);
      emit('command', { name, user: interaction.user.username, channel: interaction.channelId });
      const row = new ActionRowBuilder().addComponents(
        new ButtonBuilder().setCustomId('wave').setLabel('Wave back').setStyle(ButtonStyle.Primary),
      );
      await interaction.reply({ content: `Hello ${name}, from discord.js`, components: [row] });
    } else if (interaction.isButton() && interaction.customId === 'wave') {
      emit('button', { user: interaction.user.username, message: interaction.message.id });
      await interaction.update({ content: `${interaction.user.username} waved back`, components: [] });
      finish();
    }
  }

  const guild = client.guilds.cache.get(args.guild);
  if (!guild) throw new Error(`guild ${args.guild} not in the cache: ${[...client.guilds.cache.keys()]}`);
  const set = await guild.commands.set([
    {
      name: 'greet',
      description: 'Greets someone',
      options: [{ type: ApplicationCommandOptionType.String, name: 'name', description: 'who', required: true }],
    },
  ]);
  emit('registered', { guild: [...set.values()].map((c) => c.name) });
  await finished;
}
