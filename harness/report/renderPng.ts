/**
 * SVG → PNG for the reports, with resvg (a Rust SVG renderer shipped as a prebuilt binary, no
 * install script). Text is drawn with the machine's fonts: DejaVu Sans, which Debian's
 * fonts-dejavu-core provides and harness/setup/prepare-machine.sh installs when it is missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Resvg } from '@resvg/resvg-js';

/** Renders an SVG document to PNG bytes. */
export function pngFromSvg(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    background: 'white',
  });
  return resvg.render().asPng();
}

/** Writes `svg` as a PNG at `file` (creating its folder) and returns the path. */
export function writePng(file: string, svg: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pngFromSvg(svg));
  return file;
}
