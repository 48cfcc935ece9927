"""The HTTP routes, one module per API: ``jobs`` (subgen's own), ``openai``, ``asr`` (whisper-asr-webservice),
``ops`` (health, metrics, the web page)."""
