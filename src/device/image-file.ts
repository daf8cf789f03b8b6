// A LUN backed by a plain image file, using buffered positional I/O.
// Temporary data path: the io_uring / O_DIRECT native addon (issue 4) replaces it.

import { mkdir, open, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import type { BlockDevice, WriteOptions } from "./block-device.ts";

export interface ImageFileOptions {
  path: string;
  sizeBytes: number;
  blockSizeBytes: number;
}

export class ImageFileDevice implements BlockDevice {
  private closing: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    readonly sizeBytes: number,
    readonly blockSizeBytes: number,
    private readonly file: FileHandle,
  ) {}

  /**
   * Opens the image, creating it (and its parent directories) at exactly sizeBytes if missing.
   * An existing image of another size is refused: resizing a LUN is never done implicitly.
   */
  static async open(options: ImageFileOptions): Promise<ImageFileDevice> {
    const { path, sizeBytes, blockSizeBytes } = options;
    if (blockSizeBytes !== 512 && blockSizeBytes !== 4096) {
      throw new RangeError(`${path}: block size ${blockSizeBytes} is not 512 or 4096`);
    }
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % blockSizeBytes !== 0) {
      throw new RangeError(
        `${path}: size ${sizeBytes} bytes is not a positive multiple of ${blockSizeBytes}`,
      );
    }
    const file = await openOrCreate(path, sizeBytes);
    try {
      const actualSizeBytes = (await file.stat()).size;
      if (actualSizeBytes !== sizeBytes) {
        throw new Error(
          `${path}: existing image is ${actualSizeBytes} bytes but the LUN is configured as ` +
            `${sizeBytes} bytes; refusing to use it (resize or remove the file explicitly)`,
        );
      }
    } catch (error) {
      await file.close();
      throw error;
    }
    return new ImageFileDevice(path, sizeBytes, blockSizeBytes, file);
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    this.assertRange(offsetBytes, lengthBytes);
    const data = Buffer.allocUnsafe(lengthBytes);
    let doneBytes = 0;
    while (doneBytes < lengthBytes) {
      const { bytesRead } = await this.file.read(
        data,
        doneBytes,
        lengthBytes - doneBytes,
        offsetBytes + doneBytes,
      );
      if (bytesRead === 0) {
        throw new Error(`${this.path}: unexpected end of file at ${offsetBytes + doneBytes}`);
      }
      doneBytes += bytesRead;
    }
    return data;
  }

  async write(offsetBytes: number, data: Buffer, options: WriteOptions = {}): Promise<void> {
    this.assertRange(offsetBytes, data.length);
    let doneBytes = 0;
    while (doneBytes < data.length) {
      const { bytesWritten } = await this.file.write(
        data,
        doneBytes,
        data.length - doneBytes,
        offsetBytes + doneBytes,
      );
      doneBytes += bytesWritten;
    }
    if (options.fua) await this.file.datasync();
  }

  async flush(): Promise<void> {
    this.assertOpen();
    await this.file.datasync();
  }

  close(): Promise<void> {
    this.closing ??= this.file.close();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`${this.path}: device is closed`);
  }

  private assertRange(offsetBytes: number, lengthBytes: number): void {
    this.assertOpen();
    const aligned =
      Number.isSafeInteger(offsetBytes) &&
      Number.isSafeInteger(lengthBytes) &&
      offsetBytes % this.blockSizeBytes === 0 &&
      lengthBytes % this.blockSizeBytes === 0;
    if (!aligned) {
      throw new RangeError(
        `${this.path}: offset ${offsetBytes} / length ${lengthBytes} not aligned to ` +
          `${this.blockSizeBytes}-byte blocks`,
      );
    }
    if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes + lengthBytes > this.sizeBytes) {
      throw new RangeError(
        `${this.path}: range ${offsetBytes}+${lengthBytes} is outside the device ` +
          `(${this.sizeBytes} bytes)`,
      );
    }
  }
}

async function openOrCreate(path: string, sizeBytes: number): Promise<FileHandle> {
  try {
    return await open(path, "r+");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dirname(path), { recursive: true });
  // "wx+" fails if another process created the file meanwhile, rather than truncating theirs.
  const file = await open(path, "wx+");
  try {
    await file.truncate(sizeBytes);
  } catch (error) {
    await file.close();
    await rm(path, { force: true });
    throw error;
  }
  return file;
}
