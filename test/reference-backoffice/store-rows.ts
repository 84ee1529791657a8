/** Reading the back office's rows: JSON columns that may hold anything an older build wrote. */

export function parseJson<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
