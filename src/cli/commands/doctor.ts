/** `msb doctor`: is this host ready to run sandboxes, and if not, what to fix. Exit code 1 when it is not. */
import type { Command } from "commander";
import { doctorReport, type DoctorReport } from "../doctor-report.js";
import { formatOptions, wantsJson } from "../options.js";
import type { FormatOptions } from "../options.js";
import { size } from "../output.js";

/** Adds the `doctor` verb. */
export function registerDoctor(program: Command): void {
  const doctor = program
    .command("doctor")
    .description("check the accelerator, runtime, host tools and state directory; say what to fix");
  formatOptions(doctor, "text").action(async (opts: FormatOptions) => {
    const json = wantsJson(opts, "text");
    const report = await doctorReport();
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : render(report));
    if (!report.ok) process.exitCode = 1;
  });
}

function render(r: DoctorReport): string {
  const v = r.versions;
  const lines = [
    `accelerator:  ${r.accelerator.using ?? "none"} (${r.accelerator.why})`,
    `kvm:          ${r.accelerator.kvm.reason}`,
    ...(r.accelerator.kvm.detail === undefined ? [] : [`qemu said:    ${r.accelerator.kvm.detail}`]),
    `microsandbox: ${v.microsandbox}   node ${v.node}   protocol ${v.protocol}`,
    `qemu:         ${v.qemu ? `${v.qemu.version ?? "unknown version"} (${v.qemu.binary})` : "not found"}`,
    `virtiofsd:    ${v.virtiofsd ?? "not found (bind mounts and directory volumes need it)"}`,
    `guest kernel: ${v.kernel === null || v.kernelFlavor === null ? "not installed" : `${v.kernel} (${v.kernelFlavor})`}`,
    `agent:        ${v.agent ? `${v.agent.sourceHash.slice(0, 12)} (${v.agent.goVersion})` : "not installed"}`,
    `runtime:      ${r.setup.installed ? `installed ${r.setup.installedAt ?? ""}` : "NOT installed"} in ${r.setup.kernelDir}`,
    `tools:        ${Object.entries(r.tools)
      .map(([name, path]) => `${name} ${path === null ? "MISSING" : "ok"}`)
      .join(", ")}`,
    `state:        ${r.state.home}${r.state.freeBytes === null ? "" : `, ${size(r.state.freeBytes)} free`}`,
  ];
  if (r.findings.length === 0) lines.push("", "ok: nothing to fix");
  else {
    lines.push("");
    for (const f of r.findings) lines.push(`${f.severity}: ${f.problem}`, `  fix: ${f.fix}`);
  }
  return `${lines.join("\n")}\n`;
}
