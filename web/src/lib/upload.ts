// What may be uploaded into an image project, checked before sending so that a wrong file gets a
// clear message at once: images by their first bytes (not just the name), import files by extension.

export const IMAGE_EXT = ["jpg", "jpeg", "png", "webp", "gif", "bmp"];
export const IMPORT_EXT = ["json", "csv", "tsv", "txt", "xml", "zip"];

export function extOf(name: string): string {
  const i = name.lastIndexOf(".");
  return i < 0 ? "" : name.slice(i + 1).toLowerCase();
}

/** The image type named by a file's first bytes, or null. */
export function sniffImage(b: Uint8Array): string | null {
  const at = (i: number, s: number[]) => s.every((v, j) => b[i + j] === v);
  if (at(0, [0xff, 0xd8, 0xff])) return "jpeg";
  if (at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (at(0, [0x52, 0x49, 0x46, 0x46]) && at(8, [0x57, 0x45, 0x42, 0x50])) return "webp";
  if (at(0, [0x47, 0x49, 0x46, 0x38])) return "gif";
  if (at(0, [0x42, 0x4d])) return "bmp";
  return null;
}

/** null when the file may be uploaded, otherwise the message to show for it. */
export function checkUpload(name: string, head: Uint8Array, size: number, maxBytes = 250 * 1024 * 1024): string | null {
  const ext = extOf(name);
  if (size === 0) return "the file is empty";
  if (size > maxBytes) return `the file is larger than ${Math.round(maxBytes / 1048576)} MiB`;
  if (IMPORT_EXT.includes(ext)) return null;
  if (IMAGE_EXT.includes(ext)) return sniffImage(head) ? null : `not a valid image: the contents are not ${ext.toUpperCase()} data`;
  return `unsupported file type${ext ? ` ".${ext}"` : ""}: upload images (${IMAGE_EXT.join(", ")}) or an import file (${IMPORT_EXT.join(", ")})`;
}
