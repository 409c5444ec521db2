// An OpenAutomate-style bot agent and a person watching its tenant, both with the
// official SignalR JavaScript client, against bosun's hub. Prints what they saw as one
// JSON line.
// Usage: node openautomate.mjs SERVER TENANT MACHINE_KEY TOKEN FOREIGN_EXECUTION_ID
import * as signalR from "@microsoft/signalr";
import { errorOf, within } from "./helpers.mjs";

const [server, tenant, machineKey, token, foreignId] = process.argv.slice(2);
if (!foreignId) {
  console.error("usage: node openautomate.mjs SERVER TENANT MACHINE_KEY TOKEN FOREIGN_EXECUTION_ID");
  process.exit(2);
}
const hub = `${server}/${tenant}/hubs/botagent`;


const seen = { updates: [], bots: [], commands: [] };

// The person: a token, as a browser dashboard sends it.
const person = new signalR.HubConnectionBuilder()
  .withUrl(hub, { accessTokenFactory: () => token })
  .configureLogging(signalR.LogLevel.Warning)
  .build();
const finished = new Promise((resolve) =>
  person.on("ExecutionStatusUpdate", (update) => {
    seen.updates.push(update);
    if (update.status === "CompletedSuccessfully") resolve();
  }),
);
person.on("BotStatusUpdate", (update) => seen.bots.push(update));
await within(10000, person.start(), "the person's start");

// The agent: its machine key in the query, as OpenAutomate's agent service connects.
const agent = new signalR.HubConnectionBuilder()
  .withUrl(`${hub}?machineKey=${encodeURIComponent(machineKey)}`)
  .configureLogging(signalR.LogLevel.Warning)
  .build();
const received = new Promise((resolve) =>
  agent.on("ReceiveCommand", (command, payload) => {
    seen.commands.push({ command, payload });
    if (command === "ExecutePackage") resolve(payload);
  }),
);
await within(10000, agent.start(), "the agent's start");
const work = await within(20000, received, "ExecutePackage");

await agent.invoke("SendStatusUpdate", "Busy", work.executionId);
await agent.invoke("SendExecutionStatusUpdate", work.executionId, "Running", null);
await agent.invoke("KeepAlive");
await agent.invoke("SendExecutionStatusUpdate", work.executionId, "Completed", "done by js");
await agent.invoke("SendStatusUpdate", "Available", null);
seen.refused = await errorOf(agent.invoke("SendExecutionStatusUpdate", foreignId, "Failed", null));
seen.missing = await errorOf(agent.invoke("RunSomethingElse"));
// People may not command agents: the hub has no methods for them.
seen.personMissing = await errorOf(person.invoke("SendExecutionStatusUpdate", work.executionId, "Failed", null));

await within(10000, finished, "the person's CompletedSuccessfully");
await agent.stop();
await person.stop();
console.log(JSON.stringify(seen));
