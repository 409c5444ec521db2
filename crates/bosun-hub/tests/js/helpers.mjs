// What the scripts driving the official client share.

// `promise`, or an error naming `what` after `ms` milliseconds.
export async function within(ms, promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

// The message of the error `promise` rejects with; null when it resolves.
export async function errorOf(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return error.message;
  }
}
