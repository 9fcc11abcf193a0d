/** Pull progress events, for progress bars: one `resolved`, then `layer` updates per layer, then `done`. */

/** The image was found; these layers will be fetched (or are cached). */
export interface PullResolvedEvent {
  readonly type: "resolved";
  /** Canonical reference. */
  readonly reference: string;
  /** Manifest digest of the selected platform. */
  readonly digest: string;
  /** Base URL it is pulled from (a mirror or the registry). */
  readonly endpoint: string;
  readonly layers: readonly { readonly digest: string; readonly size: number }[];
}

/** Bytes of one layer so far. `cached` layers report `done === total` at once. */
export interface PullLayerEvent {
  readonly type: "layer";
  readonly digest: string;
  readonly done: number;
  readonly total: number;
  readonly cached: boolean;
}

/** The image is recorded locally. */
export interface PullDoneEvent {
  readonly type: "done";
  readonly reference: string;
  readonly digest: string;
}

/** Any pull progress event. */
export type PullEvent = PullResolvedEvent | PullLayerEvent | PullDoneEvent;

/** Receives progress events. Must not throw. */
export type PullProgressListener = (event: PullEvent) => void;
