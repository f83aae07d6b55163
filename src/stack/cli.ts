// `node src/stack/cli.ts up|down|status [dir]`: the same actions `offerstream stack ...` exposes.
import { stackDown, stackStatus, stackUp } from './index.ts';

const [command, dir] = process.argv.slice(2);
const log = (msg: string) => console.error(msg); // stdout stays clean for `eval "$(... up)"`

if (command === 'up') {
  const up = await stackUp(dir, log);
  process.stdout.write(up.env);
} else if (command === 'down') {
  await stackDown(dir, log);
} else if (command === 'status') {
  const status = await stackStatus(dir);
  process.stdout.write(status.text);
  process.exitCode = status.running ? 0 : 3;
} else {
  console.error('usage: node src/stack/cli.ts up|down|status [dir]');
  process.exitCode = 2;
}
