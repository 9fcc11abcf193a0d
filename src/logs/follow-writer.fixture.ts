/**
 * Test helper run as a child process (`node --import tsx follow-writer.fixture.ts PATH LINES`): writes numbered
 * lines to a rotating log in 700-byte writes (not aligned to lines), about 1 MB/s, rotating every ~16 ms.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { RotatingWriter } from "./rotating-writer.js";

const [path = "", count = "0"] = process.argv.slice(2);
const log = new RotatingWriter(path, { maxBytes: 16384, files: 4 });
let text = "";
for (let i = 0; i < Number(count); i++) {
  text += `line ${i}\n`;
  if (text.length >= 700) {
    log.write(text.slice(0, 700));
    text = text.slice(700);
    await sleep(1);
  }
}
log.write(text);
log.close();
