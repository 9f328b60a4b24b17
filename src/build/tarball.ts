/**
 * Unpacking an npm package tarball (`npm pack`'s `.tgz`): a gzipped ustar
 * archive whose entries sit under one top directory (`package/`). Regular
 * files and directories are written under the destination with that first
 * component removed; links, devices and any entry that would land outside
 * the destination are skipped, as npm's own extraction skips them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

const BLOCK = 512;

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** The `path` record of a pax extended header, if it has one. */
function paxPath(data: Buffer): string | null {
  for (const record of data.toString('utf8').split('\n')) {
    const match = /^\d+ path=(.*)$/.exec(record);
    if (match) return match[1];
  }
  return null;
}

/** Writes the entries of the tarball at `file` under `dest`, without their first path component. */
export function extractTarball(file: string, dest: string): void {
  let archive = fs.readFileSync(file);
  if (archive[0] === 0x1f && archive[1] === 0x8b) archive = gunzipSync(archive);
  let nextPath: string | null = null;
  for (let at = 0; at + BLOCK <= archive.length;) {
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const data = archive.subarray(at + BLOCK, at + BLOCK + size);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'L') {
      nextPath = type === 'x' ? paxPath(data) : field(data, 0, data.length);
      continue;
    }
    const prefix = field(header, 345, 155);
    const name = nextPath ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    nextPath = null;
    const relative = name.split('/').slice(1).join('/');
    const target = path.resolve(dest, relative);
    if (relative === '' || !target.startsWith(path.resolve(dest) + path.sep)) continue;
    if (type === '5') {
      fs.mkdirSync(target, { recursive: true });
    } else if (type === '0' || type === '7') {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, data);
    }
  }
}
