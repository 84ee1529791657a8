import t from 'tap';
import fc from 'fast-check';
import * as protocol from '../../controller/drivers/kerong/protocol.js';
import {
  CMD_UNLOCK_ALL,
  KerongFrameParser,
  MAX_FRAME_LENGTH,
  checksum,
  decodeStatus,
  encodeQuery,
  encodeStatusReply,
  encodeUnlock,
  toHex,
  type Frame,
  type FrameRejectReason,
} from '../../controller/drivers/kerong/protocol.js';

const hex = (text: string): Uint8Array => Uint8Array.from(text.split(' '), (byte) => parseInt(byte, 16));
const STATUS_EXAMPLE = '02 00 35 01 00 00 00 03 3B'; // HARDWARE.md: lock 1 bit set, board 0

t.test('checksum is the low byte of the additive sum', async (t) => {
  t.equal(checksum([]), 0);
  t.equal(checksum(hex('02 00 31 03')), 0x36);
  t.equal(checksum([0xff, 0x02]), 0x01, 'wraps at 256');
  t.equal(checksum(hex('02 00 35 01 00 00 00 03')), 0x3b);
});

t.test('encoders match the documented frames byte for byte', async (t) => {
  t.equal(toHex(encodeUnlock(0, 0)), '02 00 31 03 36', 'unlock lock 0 board 0');
  t.equal(toHex(encodeUnlock(0, 15)), '02 0F 31 03 45', 'unlock lock 15 board 0');
  t.equal(toHex(encodeUnlock(1, 2)), '02 12 31 03 48', 'unlock board 1 lock 2');
  t.equal(toHex(encodeUnlock(9, 15)), '02 9F 31 03 D5', 'highest address');
  t.equal(toHex(encodeQuery(0)), '02 00 30 03 35', 'query board 0');
  t.equal(toHex(encodeQuery(1)), '02 10 30 03 45', 'query board 1');
  t.equal(toHex(encodeStatusReply(0, 0x0001, 0)), STATUS_EXAMPLE, 'status reply example');
  const status = encodeStatusReply(2, 0x8001, 0x0180);
  t.equal(toHex(status), '02 20 35 01 80 80 01 03 5C', 'status bytes low byte first; sum wraps past 0xFF');
});

t.test('encoders refuse addresses a Kerong bus does not have', async (t) => {
  for (const [board, lock] of [[10, 0], [-1, 0], [0, 16], [0, -1], [0, 1.5], [Number.NaN, 0]] as const) {
    t.throws(() => encodeUnlock(board, lock), { code: 'INVALID_CHANNEL' }, `unlock ${board}/${lock}`);
  }
  t.throws(() => encodeQuery(10), { code: 'INVALID_CHANNEL' });
  t.throws(() => encodeStatusReply(10, 0, 0), { code: 'INVALID_CHANNEL' });
});

t.test('no exported encoder can produce unlock-all', async (t) => {
  const encoders = Object.entries(protocol).filter(([name, value]) => name.startsWith('encode') && typeof value === 'function');
  t.same(encoders.map(([name]) => name).sort(), ['encodeQuery', 'encodeStatusReply', 'encodeUnlock'], 'the encoders there are');
  const commands = new Set<number>();
  for (let board = 0; board <= 9; board++) {
    commands.add(encodeQuery(board)[2] ?? -1);
    commands.add(encodeStatusReply(board, 0xffff, 0xffff)[2] ?? -1);
    for (let lock = 0; lock < 16; lock++) commands.add(encodeUnlock(board, lock)[2] ?? -1);
  }
  t.notOk(commands.has(CMD_UNLOCK_ALL), 'command byte 0x33 never produced');
});

function parseOne(bytes: Uint8Array): Frame {
  const frames = new KerongFrameParser().push(bytes);
  if (frames.length !== 1 || !frames[0]) throw new Error(`expected one frame from ${toHex(bytes)}`);
  return frames[0];
}

t.test('decodeStatus honours the lock-bit polarity', async (t) => {
  const frame = parseOne(hex(STATUS_EXAMPLE));
  const one = decodeStatus(frame, 1);
  t.equal(one.board, 0);
  t.same(one.locked, [true, ...Array(15).fill(false)], 'lockedBit 1: only lock 1 (channel 0) locked');
  t.same(one.doorOpen, [false, ...Array(15).fill(true)], 'door open = not locked');
  t.same(one.itemPresent, Array(16).fill(false));
  const zero = decodeStatus(frame, 0);
  t.same(zero.locked, [false, ...Array(15).fill(true)], 'lockedBit 0: the opposite');
  t.same(zero.doorOpen, [true, ...Array(15).fill(false)]);
});

t.test('decodeStatus maps the high bytes to channels 8-15 and reads infrared bits', async (t) => {
  const status = decodeStatus(parseOne(encodeStatusReply(3, 0x8000, 0x8001)), 1);
  t.equal(status.board, 3);
  t.equal(status.locked[15], true, 'bit 7 of L9-16 is channel 15');
  t.equal(status.locked.filter(Boolean).length, 1);
  t.same(status.itemPresent.flatMap((present, channel) => (present ? [channel] : [])), [0, 15]);
});

t.test('decodeStatus refuses a frame that is not a status reply', async (t) => {
  t.throws(() => decodeStatus(parseOne(hex('02 00 31 03 36')), 1), { code: 'BAD_FRAME' });
});

t.test('parser: one frame, with board and lock from the address nibbles', async (t) => {
  const frame = parseOne(hex('02 12 31 03 48'));
  t.equal(frame.board, 1);
  t.equal(frame.lock, 2);
  t.equal(frame.command, 0x31);
  t.equal(frame.data.length, 0);
  const status = parseOne(hex(STATUS_EXAMPLE));
  t.equal(toHex(status.data), '01 00 00 00');
  t.equal(toHex(status.bytes), STATUS_EXAMPLE);
});

t.test('parser: garbage before a frame is dropped and counted', async (t) => {
  const parser = new KerongFrameParser();
  const frames = parser.push(hex(`FF 00 03 35 AA ${STATUS_EXAMPLE}`));
  t.same(frames.map((f) => toHex(f.bytes)), [STATUS_EXAMPLE]);
  t.equal(parser.droppedBytes, 5);
  t.equal(parser.pendingBytes, 0);
});

t.test('parser: a frame split at every possible byte boundary', async (t) => {
  const bytes = hex(STATUS_EXAMPLE);
  for (let cut = 1; cut < bytes.length; cut++) {
    const parser = new KerongFrameParser();
    t.same(parser.push(bytes.subarray(0, cut)), [], `nothing before the rest arrives (cut ${cut})`);
    t.same(parser.push(bytes.subarray(cut)).map((f) => toHex(f.bytes)), [STATUS_EXAMPLE], `whole after cut ${cut}`);
  }
  const parser = new KerongFrameParser();
  const frames = Array.from(bytes).flatMap((byte) => parser.push(Uint8Array.of(byte)));
  t.same(frames.map((f) => toHex(f.bytes)), [STATUS_EXAMPLE], 'one byte at a time');
});

t.test('parser: two frames in one chunk, and a frame straddling two chunks', async (t) => {
  const parser = new KerongFrameParser();
  const first = parser.push(hex(`${STATUS_EXAMPLE} 02 10 35 00 00 00`));
  t.same(first.map((f) => toHex(f.bytes)), [STATUS_EXAMPLE]);
  const second = parser.push(hex(`00 03 4A 02 00 30 03 35`));
  t.same(second.map((f) => toHex(f.bytes)), ['02 10 35 00 00 00 00 03 4A', '02 00 30 03 35']);
});

t.test('parser: bad checksum is rejected, counted, reported, and does not hide the next frame', async (t) => {
  const rejects: [FrameRejectReason, string][] = [];
  const parser = new KerongFrameParser({ onReject: (reason, bytes) => rejects.push([reason, toHex(bytes)]) });
  t.same(parser.push(hex('02 00 35 01 00 00 00 03 3C')), [], 'no frame');
  t.equal(parser.badChecksums, 1);
  t.same(rejects, [['checksum', '02 00 35 01 00 00 00 03 3C']]);
  t.same(parser.push(hex(STATUS_EXAMPLE)).map((f) => toHex(f.bytes)), [STATUS_EXAMPLE], 'next frame parsed');
});

t.test('parser: a false STX inside a bad frame does not swallow a real frame behind it', async (t) => {
  const parser = new KerongFrameParser();
  // A truncated status frame (its ETX never came) followed at once by a real one.
  const frames = parser.push(hex(`02 00 35 01 ${STATUS_EXAMPLE}`));
  t.same(frames.map((f) => toHex(f.bytes)), [STATUS_EXAMPLE]);
  t.equal(parser.badChecksums, 0, 'a missing ETX is not a checksum failure');
});

t.test('parser: unknown command byte drops the STX and resynchronises at once', async (t) => {
  const rejects: FrameRejectReason[] = [];
  const parser = new KerongFrameParser({ onReject: (reason) => rejects.push(reason) });
  t.same(parser.push(hex('02 00 99')), [], 'unknown command');
  t.equal(parser.pendingBytes, 0, 'nothing held waiting for a length it cannot know');
  t.same(parser.push(hex('02 00 33 03 38')), [], 'unlock-all is not a frame the parser accepts');
  t.same(rejects, ['unknown-command', 'unknown-command']);
  t.same(parser.push(hex('02 00 30 03 35')).map((f) => f.command), [0x30], 'then parses the next frame');
});

t.test('parser: bad ETX is rejected', async (t) => {
  const rejects: FrameRejectReason[] = [];
  const parser = new KerongFrameParser({ onReject: (reason) => rejects.push(reason) });
  t.same(parser.push(hex('02 00 31 04 37')), []);
  t.same(rejects, ['etx']);
});

t.test('parser: buffer stays bounded whatever arrives', async (t) => {
  const parser = new KerongFrameParser();
  parser.push(new Uint8Array(100_000).fill(0xaa));
  t.equal(parser.pendingBytes, 0, 'noise is not kept');
  const lure = hex('02 00 35 00 00 00 00');
  for (let i = 0; i < 1000; i++) parser.push(lure);
  t.ok(parser.pendingBytes < MAX_FRAME_LENGTH, `holds ${parser.pendingBytes} bytes at most`);
  parser.reset();
  t.equal(parser.pendingBytes, 0, 'reset drops a partial frame');
  t.same(parser.push(hex(STATUS_EXAMPLE)).length, 1, 'and parses cleanly afterwards');
});

const validFrame = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 15 })).map(([b, l]) => encodeUnlock(b, l)),
  fc.integer({ min: 0, max: 9 }).map((b) => encodeQuery(b)),
  fc
    .tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
    .map(([b, locks, ir]) => encodeStatusReply(b, locks, ir)),
);

/** Cut `bytes` at the given points (any numbers; taken modulo the length). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

t.test('property: any STX-free garbage + a valid frame, split anywhere, yields exactly that frame', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 255 }).filter((byte) => byte !== protocol.STX), { maxLength: 40 }),
      validFrame,
      fc.array(fc.nat(), { maxLength: 8 }),
      (garbage, frame, cuts) => {
        const stream = Uint8Array.from([...garbage, ...frame]);
        const parser = new KerongFrameParser();
        const frames = split(stream, cuts).flatMap((chunk) => parser.push(chunk));
        return frames.length === 1 && toHex(frames[0]?.bytes ?? new Uint8Array()) === toHex(frame) && parser.pendingBytes === 0;
      },
    ),
  );
  t.pass('property held');
});

t.test('property: on arbitrary bytes the parser never throws, stays bounded and yields only valid frames', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 20 }), (chunks) => {
      const parser = new KerongFrameParser();
      for (const chunk of chunks) {
        for (const frame of parser.push(chunk)) {
          const body = frame.bytes.subarray(0, frame.bytes.length - 1);
          if (frame.bytes.at(-1) !== checksum(body) || frame.bytes.at(-2) !== protocol.ETX) return false;
        }
        if (parser.pendingBytes >= MAX_FRAME_LENGTH) return false;
      }
      return true;
    }),
  );
  t.pass('property held');
});
