/** What `npm run assistants -- init` writes: a working file with every field explained. */
export const ASSISTANTS_TEMPLATE = `# Assistants served by voice-orchestrator. Point ASSISTANTS_FILE at this file (in .env, for example);
# without it the service runs the single assistant of the AGENT_* variables.
#
# The running service reloads this file when it is saved (or on SIGHUP): new conversations use the
# new version at once, live ones finish on the version they started with. An invalid edit is
# refused with a logged error and the running version stays.
# Check it with: npm run assistants -- check <this file>

# Profiles: named model providers, used by the assistants below for llm (language model) and stt
# (speech-to-text). Keys never go in this file: api_key_env names the environment variable that
# holds the key. When a profile fails, the ones in its fallback list are tried in order.
profiles:
  # The service's own local models (LOCAL_LLM_MODEL, LOCAL_STT_MODEL): no key, no cloud.
  local:
    provider: local

  # OpenAI (base_url may point at another OpenAI server; api_key_env defaults to OPENAI_API_KEY).
  # openai-mini:
  #   provider: openai
  #   model: gpt-4.1-mini
  #   api_key_env: OPENAI_API_KEY
  #   fallback: [local]
  # openai-whisper:
  #   provider: openai
  #   model: whisper-1
  #   fallback: [local]

  # Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, ...); api_key_env only if it wants a key.
  # my-vllm:
  #   provider: openai-compatible
  #   base_url: http://127.0.0.1:8000/v1
  #   model: qwen
  #   api_key_env: VLLM_KEY
  #   fallback: [local]

# Assistants: each registers with LiveKit under its name (explicit dispatch); the web page offers
# them in a selector and POST /api/token takes {"assistant": "<name>"}.
assistants:
  - name: receptionist            # 1-64 characters: A-Z a-z 0-9 _ -
    # instructions or instructions_file (a path relative to this file), not both
    instructions: >-
      You are the receptionist of a small company. Answer in English, briefly, in one or two plain
      spoken sentences, without lists or markup.
    greeting: Hello, thank you for calling. How can I help you?   # empty = no greeting
    voice: en_US-joe-medium       # an installed Piper voice (VOICES_DIR); npm run voices -- list
    llm: local                    # a profile name
    stt: local                    # a profile name
    max_sessions: 4               # optional: most conversations at once (default AGENT_MAX_SESSIONS)

  - name: support
    # instructions_file: support.md
    instructions: >-
      You are a patient technical support agent. Ask one question at a time and answer in one or two
      plain spoken sentences.
    greeting: Hi, this is support. What can I help you with?
    voice: en_US-joe-medium
    llm: local
    stt: local
`;
