// Prints how JavaScript writes each double given on stdin (one IEEE-754 bit pattern in hex per
// line): one JSON array per line of String(x), JSON.stringify(x) and x.toFixed(0..3) (null
// where toFixed would not take the fixed path, |x| >= 1e21).
import { createInterface } from "node:readline";

const buf = new DataView(new ArrayBuffer(8));
for await (const line of createInterface({ input: process.stdin })) {
  if (!line) continue;
  buf.setBigUint64(0, BigInt("0x" + line));
  const x = buf.getFloat64(0);
  const fixed = [0, 1, 2, 3].map((d) => (Math.abs(x) < 1e21 ? x.toFixed(d) : null));
  console.log(JSON.stringify([String(x), JSON.stringify(x), ...fixed]));
}
