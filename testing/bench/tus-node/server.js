// server.js: @tus/server with @tus/file-store on PORT, storing in DIR: the
// tus peer of testing/bench/uploads.sh. Prints "listening" once it is.
'use strict';
const http = require('http');
const {Server} = require('@tus/server');
const {FileStore} = require('@tus/file-store');

const [port, dir] = process.argv.slice(2);
const tus = new Server({path: '/files', datastore: new FileStore({directory: dir})});
http.createServer((req, res) => tus.handle(req, res)).listen(Number(port), '127.0.0.1', () => {
  console.error('listening');
});
