// Drives bosun's test hubs with the official SignalR JavaScript client and prints what it
// saw as one JSON line. Usage: node client.mjs HUB_URL FAST_HUB_URL
// (FAST_HUB_URL: a hub that pings every 100 ms and drops clients silent for 1.5 s).
import * as signalR from "@microsoft/signalr";
import { errorOf, within } from "./helpers.mjs";

const [hubUrl, fastHubUrl] = process.argv.slice(2);
if (!hubUrl || !fastHubUrl) {
  console.error("usage: node client.mjs HUB_URL FAST_HUB_URL");
  process.exit(2);
}


const seen = {};

// With negotiate, and a query parameter that must reach both negotiate and the socket.
const connection = new signalR.HubConnectionBuilder()
  .withUrl(`${hubUrl}?machineKey=js-key`)
  .configureLogging(signalR.LogLevel.Warning)
  .build();
const notified = new Promise((resolve) => connection.on("Notify", (text) => resolve(text)));
// Returning a value answers the server's invocation (client results, since version 7).
connection.on("Ask", (question) => `js heard: ${question}`);

await within(10000, connection.start(), "start");
seen.connectionId = connection.connectionId;
seen.echo = await connection.invoke("Echo", { a: [1, "two"] });
seen.add = await connection.invoke("Add", 2, 40);
seen.nothing = await connection.invoke("Nothing");
seen.keys = await connection.invoke("Keys");
await connection.send("NotifyMe", "hello");
seen.notified = await within(10000, notified, "Notify");
seen.asked = await connection.invoke("AskClient", "what?");
seen.missing = await errorOf(connection.invoke("Missing"));
seen.fail = await errorOf(connection.invoke("Fail"));
seen.wrongArguments = await errorOf(connection.invoke("Add", 1));
await connection.stop();
seen.stopped = connection.state;

// Without negotiate: straight to the WebSocket.
const direct = new signalR.HubConnectionBuilder()
  .withUrl(hubUrl, { skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets })
  .configureLogging(signalR.LogLevel.Warning)
  .build();
await within(10000, direct.start(), "start without negotiate");
seen.directEcho = await direct.invoke("Echo", "direct");
await direct.stop();

// Short keep-alives both ways: an idle connection outlives both timeouts several times
// over, so each side reads the other's pings. Then the hub closes it with an error.
const fast = new signalR.HubConnectionBuilder()
  .withUrl(fastHubUrl)
  .withServerTimeout(1500)
  .withKeepAliveInterval(100)
  .configureLogging(signalR.LogLevel.Warning)
  .build();
const fastClosed = new Promise((resolve) => fast.onclose((error) => resolve(error ? error.message : null)));
await within(10000, fast.start(), "start on the fast hub");
await new Promise((resolve) => setTimeout(resolve, 4000));
seen.idleState = fast.state;
seen.idleEcho = await fast.invoke("Echo", "still here");
await fast.send("CloseMe");
seen.closeError = await within(10000, fastClosed, "the hub closing the connection");

console.log(JSON.stringify(seen));
