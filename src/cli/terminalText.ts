import { escapeControls } from '../oauth/errors';

/**
 * Text made inert for a terminal. What the CLI prints comes largely from servers (tool names, descriptions
 * and results, error text, the device `user_code`), and a terminal acts on some characters instead of
 * showing them: escape sequences clear the screen, write the clipboard (OSC 52) or hide a link (OSC 8), a
 * carriage return overwrites the line, a bidi override reorders it. Each such character is printed as a
 * visible `\uXXXX` escape instead (see {@link escapeControls}), so the user sees that something odd was sent.
 *
 * `multiline` text (a tool result, the whole of stdout) keeps its line feeds and tabs, and a CR-LF line end
 * becomes a line feed (it overwrites nothing); otherwise line feeds and tabs are escaped too, so that one
 * value (a tool name) stays on its line. Backslashes are left alone, so paths and JSON stay readable.
 */
export function inert(text: string, { multiline = false }: { readonly multiline?: boolean } = {}): string {
  return multiline ? escapeControls(text.replace(/\r\n/g, '\n'), '\n\t') : escapeControls(text);
}
