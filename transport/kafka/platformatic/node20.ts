/**
 * @platformatic/kafka declares Node >= 22.22 (the container image runs Node 24); on Node 20, where this
 * project's floor is, the one newer API it calls is Promise.withResolvers. Installed only where missing.
 */
interface WithResolvers {
  withResolvers?: <T>() => {
    promise: Promise<T>;
    resolve: (value: T | PromiseLike<T>) => void;
    reject: (reason?: unknown) => void;
  };
}

const PromiseWithResolvers = Promise as unknown as WithResolvers;
PromiseWithResolvers.withResolvers ??= <T>() => {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};
