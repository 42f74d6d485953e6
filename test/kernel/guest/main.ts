// Guest orchestrator (runs as root inside the VM, started by stage2.sh): prepare the kernel's
// debug output, start the realm/file server, then run every scenario once per handler and write
// the GuestReport into the run directory. Its stdout is QEMU's stdout (ttyS1). Scenario 7 (the AD
// DC on the host, ad.ts) comes last, once per handler, after the switch to AD.TEST.
import { cpSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { loggedRequestKeyLine, productionRequestKeyLine } from '../shared/handlers.ts';
import { scenarioSelected } from '../shared/scenario-ids.ts';
import type { GuestConfig, GuestReport, PhaseTiming, ScenarioResult } from '../shared/types.ts';
import { AD_SCENARIO, runAdScenario, switchToAdRealm } from './ad.ts';
import { EvidenceCollector } from './evidence.ts';
import { KernelLog } from './logs.ts';
import { mustExec } from './proc.ts';
import { LOG_DIR, startServices } from './realm.ts';
import { installHandler, runHandlerScenarios } from './scenarios.ts';

function say(line: string): void {
  writeSync(1, `${line}\n`);
}

function uptime(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/**
 * cifs logs each upcall's description with cifs_dbg(FYI), which needs both cifsFYI and the
 * dynamic-debug sites of cifs_spnego.c (the file moved from fs/cifs to fs/smb/client in 6.4;
 * matching on the base name covers both).
 */
async function enableKeyDescriptionDebug(): Promise<void> {
  await mustExec('modprobe', ['cifs']);
  writeFileSync('/proc/fs/cifs/cifsFYI', '1');
  writeFileSync('/sys/kernel/debug/dynamic_debug/control', 'file cifs_spnego.c +p');
}

export async function main(configPath: string): Promise<number> {
  const startUptime = uptime();
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as GuestConfig;
  const phases: PhaseTiming[] = [];
  const results: ScenarioResult[] = [];
  const report: GuestReport = {
    kernelLabel: config.kernelLabel,
    kernelRelease: config.kernelRelease,
    orchestratorStartUptime: startUptime,
    phases,
    results,
    requestKeyLines: {},
    fatal: null,
  };
  const timed = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const start = performance.now();
    const value = await f();
    const ms = Math.round(performance.now() - start);
    phases.push({ name, ms });
    say(`[${uptime().toFixed(2)}] ${name}: ${ms} ms`);
    return value;
  };
  say(`guest ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}: orchestrator started at uptime ${startUptime.toFixed(2)} s`);
  let kmsg: KernelLog | null = null;
  try {
    await timed('modprobe cifs + key description debug', () => enableKeyDescriptionDebug());
    kmsg = new KernelLog();
    kmsg.drain();
    await startServices(timed);
    const evidence = new EvidenceCollector(kmsg);
    const wrapper = `${config.guestScriptsDir}/upcall-wrapper.sh`;
    for (const handler of config.handlers) {
      const lines = { production: productionRequestKeyLine(handler), logged: loggedRequestKeyLine(handler, wrapper) };
      report.requestKeyLines[handler.name] = lines;
      installHandler(handler, lines);
      evidence.useTrace(handler.traceFile);
      say(
        `\n######## handler ${handler.name}\n  request-key line (production): ${lines.production}\n  installed (logged):            ${lines.logged}`,
      );
      await timed(`scenarios with ${handler.name}`, () => runHandlerScenarios({ config, handler, evidence, say, results }));
    }
    // scenario 7 last: it switches the guest's realm, keytab and gssproxy to AD.TEST for good
    const ad = config.ad;
    if (ad && scenarioSelected(config.scenarios, AD_SCENARIO)) {
      say(`\n######## AD.TEST: the Samba AD DC's own smbd (${ad.dcHost} = ${ad.dcAddress}, forwarded to the host)`);
      await timed('switch to AD.TEST (NIC, krb5.conf, keytab, gssproxy)', () => switchToAdRealm(ad, say));
      for (const handler of config.handlers) {
        installHandler(handler, report.requestKeyLines[handler.name]);
        evidence.useTrace(handler.traceFile);
        await timed(`${AD_SCENARIO} with ${handler.name}`, () => runAdScenario({ config, handler, evidence, say, results }, ad));
      }
    }
  } catch (e) {
    report.fatal = e instanceof Error ? (e.stack ?? e.message) : String(e);
    say(`FATAL: ${report.fatal}`);
  } finally {
    try {
      if (kmsg) {
        kmsg.drain();
        writeFileSync(`${config.outDir}/dmesg.txt`, kmsg.all.map((l) => `[${l.time.toFixed(6)}] ${l.text}`).join('\n') + '\n');
      }
      writeFileSync(`${config.outDir}/proc-keys.txt`, readFileSync('/proc/keys', 'utf8'));
      cpSync(LOG_DIR, `${config.outDir}/guest-logs`, { recursive: true });
    } catch (e) {
      say(`could not copy the guest logs: ${String(e)}`);
    }
    writeFileSync(`${config.outDir}/report.json`, JSON.stringify(report, null, 2));
  }
  return report.fatal === null ? 0 : 1;
}
