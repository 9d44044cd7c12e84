"""Everything that talks to the chain: compiling, deploying, the manifest, the client."""
