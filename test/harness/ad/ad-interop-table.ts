// The scenario × result table of docs/ad-interop.md, produced by the AD tests: each test adds
// the row it proved (with values it observed, nothing random: no keys, times, SIDs or pids), and
// the file's last test compares the rows with the section of the document between
//   <!-- BEGIN <section> --> … <!-- END <section> -->
// With CIFS_UPCALL_UPDATE_AD_DOC=1 it rewrites that section instead (then commit the document).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const AD_INTEROP_DOC = fileURLToPath(new URL('../../../docs/ad-interop.md', import.meta.url));

export interface InteropRow {
  scenario: string;
  path: string;
  result: string;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

export class InteropTable {
  private readonly rows: InteropRow[] = [];

  constructor(
    readonly section: string,
    private readonly doc = AD_INTEROP_DOC,
  ) {}

  add(scenario: string, path: string, result: string): void {
    this.rows.push({ scenario, path, result });
  }

  get size(): number {
    return this.rows.length;
  }

  render(): string {
    return [
      '| # | scenario | path (strategy → source) | result |',
      '| --- | --- | --- | --- |',
      ...this.rows.map((r, i) => `| ${i + 1} | ${cell(r.scenario)} | ${cell(r.path)} | ${cell(r.result)} |`),
    ].join('\n');
  }

  private markers(): { begin: string; end: string } {
    return { begin: `<!-- BEGIN ${this.section} -->`, end: `<!-- END ${this.section} -->` };
  }

  /** The table as the document has it now, or null when the section is missing. */
  documented(): string | null {
    const text = readFileSync(this.doc, 'utf8');
    const { begin, end } = this.markers();
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    if (a < 0 || b < a) return null;
    return text.slice(a + begin.length, b).trim();
  }

  /** Rewrite the section with the rows of this run. */
  update(): void {
    const text = readFileSync(this.doc, 'utf8');
    const { begin, end } = this.markers();
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`${this.doc} has no ${begin} … ${end} section`);
    writeFileSync(this.doc, `${text.slice(0, a + begin.length)}\n${this.render()}\n${text.slice(b)}`);
  }

  /** Update the document when asked to (CIFS_UPCALL_UPDATE_AD_DOC=1); return what it must contain. */
  syncOrExpected(): { documented: string | null; rendered: string } {
    if (process.env.CIFS_UPCALL_UPDATE_AD_DOC === '1') this.update();
    return { documented: this.documented(), rendered: this.render() };
  }
}
