// Node 18 has no global WebCrypto; the region ids need crypto.getRandomValues.
import { webcrypto } from "node:crypto";

if (!(globalThis as { crypto?: unknown }).crypto) (globalThis as { crypto?: unknown }).crypto = webcrypto;
