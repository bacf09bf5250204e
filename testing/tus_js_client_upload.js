// tus_js_client_upload.js: uploads a file to the server with tus-js-client
// (Node), as a real tus client does, for //testing:tus_js_client_e2e_test.
//
//   node tus_js_client_upload.js ENDPOINT FILE PROTOCOL [interrupt]
//
// PROTOCOL is tus-js-client's (tus-v1 or ietf-draft-05). With `interrupt`, the first Upload
// object is aborted once over a third of the bytes are acknowledged, and a
// fresh Upload object resumes from the upload's URL (asking the server for
// its offset). Prints `url=URL resumed_from=N` on success; exits 1 with the
// error otherwise.
'use strict';
const fs = require('fs');
const tus = require('tus-js-client');

const [endpoint, file, protocol, mode] = process.argv.slice(2);
const data = fs.readFileSync(file);

function upload(options) {
  return new Promise((resolve, reject) => {
    let upload;
    upload = new tus.Upload(data, {
      endpoint,
      protocol,
      chunkSize: 256 * 1024,
      retryDelays: null,
      metadata: {filename: 'tus-js-client.bin', filetype: 'application/octet-stream'},
      onError: reject,
      onSuccess: () => resolve({url: upload.url, done: true}),
      ...options(() => upload, resolve),
    });
    upload.start();
  });
}

async function main() {
  let resumedFrom = 0;
  let url;
  if (mode === 'interrupt') {
    const first = await upload((get, resolve) => ({
      onChunkComplete: (chunk, accepted) => {
        if (accepted > data.length / 3) {
          const u = get();
          u.abort(false).then(() => resolve({url: u.url, done: false}));
        }
      },
    }));
    if (first.done) throw new Error('the upload finished before it could be interrupted');
    // A fresh object, as after a restart: it learns the offset by HEAD.
    const second = new Promise((resolve, reject) => {
      const u = new tus.Upload(data, {
        endpoint,
        protocol,
        uploadUrl: first.url,
        chunkSize: 256 * 1024,
        retryDelays: null,
        onError: reject,
        onChunkComplete: (chunk, accepted) => {
          if (resumedFrom === 0) resumedFrom = accepted - chunk;
        },
        onSuccess: () => resolve(u.url),
      });
      u.start();
    });
    url = await second;
  } else {
    url = (await upload(() => ({}))).url;
  }
  console.log(`url=${url} resumed_from=${resumedFrom}`);
}

main().catch((error) => {
  console.error(`tus-js-client: ${error}`);
  process.exit(1);
});
