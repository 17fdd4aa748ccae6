/**
 * The `data` of each event of a Server-Sent Events body, as it arrives (WHATWG HTML §9.2.6, the parts MCP
 * uses): lines end in CRLF, LF or CR; the `data` lines of one event join with LF; a blank line dispatches the
 * event, and one the body ends in the middle of is dropped; comments, `event`, `id` and `retry` carry nothing
 * this client uses. The caller stops reading by returning early (the body is then cancelled).
 */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      // A CR at the end of what has arrived may be the first half of a CRLF: wait for the next chunk.
      for (let end = /\r\n|\n|\r(?!$)/.exec(buffer); end; end = /\r\n|\n|\r(?!$)/.exec(buffer)) {
        const line = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        if (line === '') {
          if (data.length) yield data.join('\n');
          data = [];
        } else if (line === 'data' || line.startsWith('data:')) {
          data.push(line.slice(5).replace(/^ /, ''));
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
