#!/bin/node
// nslookup stand-in: resolves a name through the pod's resolv.conf; exit 0 with an answer.
"use strict";
const name = process.argv[2];
require("dns").lookup(name, { all: true }, (err, addrs) => {
    if (err || addrs.length === 0) {
        process.stderr.write(`** server can't find ${name}: ${err ? err.code : "no answer"}\n`);
        process.exit(1);
    }
    process.stdout.write(`Name:\t${name}\n${addrs.map((a) => `Address: ${a.address}`).join("\n")}\n`);
});
