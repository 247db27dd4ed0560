// Runs one scenario with an unmodified discord.js client against a Hearth
// homeserver. Hearth's Go tests start it (bots/discordjs_test.go):
//
//   node run.mjs <scenario>
//
// with HEARTH_API (the REST base, e.g. http://127.0.0.1:8080/api),
// HEARTH_TOKEN (a bot token) and HEARTH_ARGS (JSON handed to the scenario).
// The only configuration discord.js is given is its documented `rest.api`
// option; the gateway URL comes from GET /gateway/bot, as against Discord.
//
// A scenario is scenarios/<name>.mjs exporting `intents` (an array of
// GatewayIntentBits) and `run({ client, args, emit })`. run's synchronous
// part should attach the listeners it needs: "ready" is reported to the
// test right after it is called, and the test may act on that at once.
//
// Progress goes to stdout as one line per step, `HEARTH {"event": ...}`,
// which the test waits on; discord.js's debug log goes to stderr, which the
// test prints when something fails.
import { Client, Events } from 'discord.js';

const name = process.argv[2];
if (!name || !/^[a-z0-9-]+$/.test(name)) {
  console.error('usage: node run.mjs <scenario>');
  process.exit(64);
}
const emit = (event, data = {}) => process.stdout.write(`HEARTH ${JSON.stringify({ event, ...data })}\n`);
const fail = (where, err) => {
  console.error(`${where}:`, err);
  emit('error', { where, message: String(err?.stack ?? err) });
  process.exit(1);
};
process.on('unhandledRejection', (err) => fail('unhandled rejection', err));
process.on('uncaughtException', (err) => fail('uncaught exception', err));

const scenario = await import(`./scenarios/${name}.mjs`);
const args = JSON.parse(process.env.HEARTH_ARGS || '{}');
const limit = Number(process.env.HEARTH_TIMEOUT_MS || 60000);
const timer = setTimeout(() => fail('timeout', new Error(`scenario ${name} did not finish in ${limit} ms`)), limit);

const client = new Client({
  intents: scenario.intents,
  partials: scenario.partials ?? [],
  rest: { api: process.env.HEARTH_API },
});
client.on(Events.Debug, (line) => console.error(`[debug] ${line}`));
client.on(Events.Warn, (line) => console.error(`[warn] ${line}`));
client.on(Events.Error, (err) => console.error('[error]', err));

client.once(Events.ClientReady, async (c) => {
  try {
    const done = scenario.run({ client: c, args, emit });
    emit('ready', { user: c.user.id, username: c.user.username, guilds: c.guilds.cache.size });
    await done;
    emit('done');
    clearTimeout(timer);
    await c.destroy();
    process.exit(0);
  } catch (err) {
    fail(`scenario ${name}`, err);
  }
});
client.login(process.env.HEARTH_TOKEN).catch((err) => fail('login', err));
