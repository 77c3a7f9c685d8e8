// Starts local-aws-sqs on 127.0.0.1 and an ephemeral port, prints the endpoint on one line of
// stdout for the Go test to read, and exits when stdin closes (that is, when the test does).
import { createSqsServer } from "local-aws-sqs";

const server = await createSqsServer({
  port: 0,
  hostname: "127.0.0.1",
  region: "us-east-1",
  emulateQueueCreationLifecycle: false,
});
const { port } = server.address();
process.stdout.write(`http://127.0.0.1:${port}\n`);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
