/** The SQLSTATE a promise rejected with, or 'resolved' when it did not reject (for readable test failures). */
export async function sqlStateOfRejection(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : `non-PostgreSQL error: ${String(error)}`;
  }
  return 'resolved';
}
