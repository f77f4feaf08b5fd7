/** `switchboard import <file.json>` — filled in below. */
export async function importCommand(_args: string[]): Promise<number> {
  process.stderr.write('import: not implemented yet\n');
  return 1;
}
