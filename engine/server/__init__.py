"""LangGraph's Agent Server HTTP API over the engine (`inbox serve`).

app.py builds the ASGI app; threads.py and runs.py are the routes; manager.py runs graphs (one
run at a time per thread, under the engine's run ownership, across replicas); the API's
threads and runs are the store's (engine/checkpoint/api_store.py); streaming.py writes SSE; auth.py checks named API
keys; live.py is the `/inbox/events` extension; schemas.py and shapes.py are the request and
response shapes; errors.py maps failures to statuses."""

from engine.server.app import check_bind, create_app, serve

__all__ = ["create_app", "serve", "check_bind"]
