/**
 * `compilePolicy`: validates a `NetworkConfig` completely (every bad field is an {@link InvalidConfigError}
 * naming it; nothing is dropped or defaulted silently) into the immutable form `decideFlow` evaluates.
 *
 * @packageDocumentation
 */
import { InvalidConfigError } from "../../errors.js";
import { type CompiledTls, compileTls } from "../tls/config.js";
import { parseDomainName } from "./domain.js";
import { type CompiledRule, compileRule } from "./rule.js";
import {
  POLICY_ACTIONS,
  POLICY_PRESETS,
  type PolicyAction,
  type PolicyPreset,
  type NetworkConfig,
} from "./types.js";

/** Default `maxConnections`. */
export const DEFAULT_MAX_CONNECTIONS = 256;

/** A validated network policy. */
export interface CompiledPolicy {
  readonly preset: PolicyPreset;
  readonly rules: readonly CompiledRule[];
  /** Outbound action for flows no rule matched and the preset does not deny. */
  readonly defaultAction: PolicyAction;
  /** Normalised exact names. */
  readonly blockDomains: readonly string[];
  /** Normalised suffixes (no leading dot). */
  readonly blockDomainSuffixes: readonly string[];
  readonly dnsRebindProtection: boolean;
  readonly maxConnections: number;
  /** `network.tls`, validated; undefined when absent (interception may still be on for secrets). */
  readonly tls: CompiledTls | undefined;
}

/** Options of {@link compilePolicy}. */
export interface CompilePolicyOptions {
  /** Path of the config in error messages (default `"network"`). */
  readonly field?: string;
}

const CONFIG_KEYS = new Set([
  "policy",
  "rules",
  "defaultAction",
  "blockDomains",
  "blockDomainSuffixes",
  "dnsRebindProtection",
  "maxConnections",
  "tls",
]);

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidConfigError(
    field,
    `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(value)}`,
  );
}

function array(field: string, value: unknown): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidConfigError(field, "must be an array");
  return value as readonly unknown[];
}

function domains(field: string, value: unknown, suffixes: boolean): readonly string[] {
  return Object.freeze(
    array(field, value).map((entry, i) => {
      if (typeof entry !== "string") throw new InvalidConfigError(`${field}[${i}]`, "must be a string");
      const text = suffixes && entry.startsWith(".") ? entry.slice(1) : entry;
      const parsed = parseDomainName(text);
      if (!parsed.ok) throw new InvalidConfigError(`${field}[${i}]`, parsed.message);
      return parsed.name;
    }),
  );
}

function resolveDefaultAction(field: string, preset: PolicyPreset, value: unknown): PolicyAction {
  if (value === undefined) return preset === "none" ? "deny" : "allow";
  const action = oneOf(`${field}.defaultAction`, value, POLICY_ACTIONS);
  if (preset === "none" && action === "allow") {
    throw new InvalidConfigError(
      `${field}.defaultAction`,
      'conflicts with policy "none", which denies everything',
      {
        hint: 'use policy "public-only" or "allow-all", or allow what you need with rules',
      },
    );
  }
  if (preset === "allow-all" && action === "deny") {
    throw new InvalidConfigError(`${field}.defaultAction`, 'conflicts with policy "allow-all"', {
      hint: 'use policy "none" (deny by default) with allow rules',
    });
  }
  return action;
}

function maxConnections(field: string, value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_CONNECTIONS;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidConfigError(
      `${field}.maxConnections`,
      `must be a positive integer, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Validates `config` (default: `{}`, i.e. public-only). Throws {@link InvalidConfigError} on any invalid field. */
export function compilePolicy(
  config: NetworkConfig = {},
  options: CompilePolicyOptions = {},
): CompiledPolicy {
  const field = options.field ?? "network";
  const raw: unknown = config;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new InvalidConfigError(field, "must be an object");
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!CONFIG_KEYS.has(key))
      throw new InvalidConfigError(
        `${field}.${key}`,
        `is not a network setting (${[...CONFIG_KEYS].join(", ")})`,
      );
  }
  const preset =
    record["policy"] === undefined
      ? "public-only"
      : oneOf(`${field}.policy`, record["policy"], POLICY_PRESETS);
  const rebind = record["dnsRebindProtection"];
  if (rebind !== undefined && typeof rebind !== "boolean")
    throw new InvalidConfigError(`${field}.dnsRebindProtection`, "must be a boolean");
  const tls = record["tls"] === undefined ? undefined : compileTls(record["tls"], `${field}.tls`);
  return Object.freeze<CompiledPolicy>({
    preset,
    rules: Object.freeze(
      array(`${field}.rules`, record["rules"]).map((rule, index) =>
        compileRule(rule, { index, rulesField: `${field}.rules`, wildcardAllowsAll: preset === "allow-all" }),
      ),
    ),
    defaultAction: resolveDefaultAction(field, preset, record["defaultAction"]),
    blockDomains: domains(`${field}.blockDomains`, record["blockDomains"], false),
    blockDomainSuffixes: domains(`${field}.blockDomainSuffixes`, record["blockDomainSuffixes"], true),
    dnsRebindProtection: rebind ?? true,
    maxConnections: maxConnections(field, record["maxConnections"]),
    tls,
  });
}
