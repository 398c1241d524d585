"""kb-mcp: the SRE runbook knowledge base as an MCP server.

Runbooks (Markdown with front matter) are split into one chunk per section, embedded with the bundled
all-MiniLM-L6-v2 and stored in Chroma; searches fuse BM25 over the same chunks with vector similarity.

- `config`: settings (`KB_MCP_*`);
- `corpus`: parsing runbooks into sections;
- `embed`: the sentence-transformers model, loaded off the start-up path;
- `store`: Chroma (embedded or a server): collections, the model check, reads and writes;
- `retrieval`: the tokenizer, BM25, reciprocal rank fusion;
- `ingest`: files → Chroma, idempotent by content hash;
- `knowledge`: what the server holds while it runs (store, index, model) and the searches over it;
- `answers`: grounded answers (sampling prompt, extractive fallback);
- `server`: the MCP tools and resources.
"""

__version__ = "0.1.0"
