// Uploads one file to ANB Video's /api/uploads/ with tus-js-client under Node, as the web app does in
// the browser: node upload.mjs API_URL TOKEN FILE TITLE. Prints the upload's URL on success; exits 1
// with the server's answer otherwise.
import { createReadStream, statSync } from "node:fs";
import { basename } from "node:path";
import { Upload } from "tus-js-client";

const [api, token, file, title] = process.argv.slice(2);
const upload = new Upload(createReadStream(file), {
  endpoint: `${api.replace(/\/$/, "")}/uploads/`,
  uploadSize: statSync(file).size,
  // A stream needs a chunk size: 16 MiB, two of the server's 8 MiB parts.
  chunkSize: 16 * 1024 * 1024,
  headers: { Authorization: `Bearer ${token}` },
  metadata: { title, filename: basename(file) },
  retryDelays: [0, 1000, 3000],
  onError: (error) => {
    console.error(String(error));
    process.exit(1);
  },
  onSuccess: () => {
    console.log(upload.url);
  },
});
upload.start();
