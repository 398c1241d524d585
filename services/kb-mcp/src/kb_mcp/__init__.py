"""kb-mcp: the SRE runbook knowledge base as an MCP server.

Runbook folders (Markdown as teams keep it) are split into sections, embedded with the bundled all-MiniLM-L6-v2
(its ONNX export) and stored in Chroma; searches fuse BM25 over the same sections with vector similarity.

- `config`: settings (`KB_MCP_*`);
- `markdown`, `corpus`: front matter, headings and HTML; runbook folders into `Runbook` records;
- `codec`: a `Runbook` as flat metadata and back (Chroma, the local copy);
- `onnx_model` (serving), `onnx_export` (build time, the `export` extra), `embed`: the embedding model;
- `embedding_cache`: embeddings kept by content, so an ingest embeds only new text;
- `store`: Chroma (embedded or a server); `corpus_cache`: the local copy of what it holds;
- `retrieval`: the tokenizer, BM25, vector ranking, reciprocal rank fusion;
- `ingest`: folders → Chroma, incrementally;
- `knowledge`: what the server holds while it runs and the searches over it;
- `answers`: grounded answers (sampling prompt, extractive fallback) and result records;
- `server`: the MCP tools and resources.

The eval and the benchmark are scripts beside the package (`services/kb-mcp/eval/`), not part of it.
"""

__version__ = "0.1.0"
