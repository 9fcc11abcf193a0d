/** Parsing of `WWW-Authenticate` challenges (RFC 7235) as registries send them. */

/** A challenge the client can answer. */
export type Challenge =
  | { readonly scheme: "basic"; readonly realm: string | undefined }
  | {
      readonly scheme: "bearer";
      readonly realm: string;
      readonly service: string | undefined;
      readonly scope: string | undefined;
    };

/**
 * Parses the first Basic or Bearer challenge of a `WWW-Authenticate` value, e.g.
 * `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`.
 * Returns undefined when there is none we understand.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (header === undefined) return undefined;
  const pattern =
    /([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+((?:[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?\s*)*))?/g;
  for (const match of header.matchAll(pattern)) {
    const scheme = match[1]?.toLowerCase();
    const params = parseParams(match[2] ?? "");
    if (scheme === "basic") return { scheme: "basic", realm: params.get("realm") };
    const realm = params.get("realm");
    if (scheme === "bearer" && realm !== undefined) {
      return { scheme: "bearer", realm, service: params.get("service"), scope: params.get("scope") };
    }
  }
  return undefined;
}

function parseParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const match of text.matchAll(
    /([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g,
  )) {
    const key = match[1]?.toLowerCase();
    if (key !== undefined) params.set(key, match[2]?.replace(/\\(.)/g, "$1") ?? match[3] ?? "");
  }
  return params;
}
