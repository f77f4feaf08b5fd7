/** `switchboard user add|list|disable`. */
export async function userCommand(_args: string[]): Promise<number> {
  process.stderr.write('user: not implemented yet\n');
  return 1;
}
