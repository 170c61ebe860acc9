/** A send has three outcomes; callers switch on them instead of parsing exceptions. */
export type SendResult =
  | { kind: "accepted"; status: 202 | 204; conflicts: number[] } // 204, or 202 with the dropped indices
  | { kind: "retry"; afterMs: number | undefined; reason: string } // network, timeout, 401 twice, 408, 429, 5xx
  | { kind: "rejected"; status: number; detail: string }; // other 4xx: the batch goes to the dead letters
