/** Resolves like `promise` unless `signal` aborts first; a late result is passed to `dispose`. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, dispose?: (value: T) => void): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.then(
      (v) => dispose?.(v),
      () => undefined,
    );
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((res, rej) => {
    const onAbort = () => {
      promise.then(
        (v) => dispose?.(v),
        () => undefined,
      );
      rej(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return;
        res(v);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        rej(err);
      },
    );
  });
}
