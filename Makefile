# The two commands a person needs: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c  # a failing command before `| tail` fails its recipe
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The browser test drives Debian's chromium through Playwright's Python package (never `playwright install`).
CHROMIUM := /usr/bin/chromium

.PHONY: setup run test bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: setup
	$(PY) app.py

test: setup $(CHROMIUM)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "make test needs Debian's chromium for its browser test: run 'sudo apt-get install chromium'" >&2; exit 1; \
	fi

bench: setup
	$(VENV)/bin/chatvla2-lite bench sim --episodes 100 --json

clean:
	rm -rf $(VENV) .pytest_cache artifacts

# ---- the nano checkpoint: `make nano` runs the whole recipe; every step resumes or is skipped when done ----
CLI := $(VENV)/bin/chatvla2-lite
NANO_OUT ?= outputs/nano
NANO_DEMOS ?= 200
NANO_READ_STEPS ?= 8000
NANO_VLM_STEPS ?= 3000
NANO_COTRAIN_STEPS ?= 3000
NANO_ACTION_STEPS ?= 6000
# the naive baseline trains the whole model, so a step costs a full forward and backward: it gets the staged
# recipe's co-training steps plus as many again, about the wall time of co-training and the action stage together
NANO_NAIVE_STEPS ?= $$(( 2 * $(NANO_COTRAIN_STEPS) ))
NANO_EVAL_EPISODES ?= 100
# questions per probe suite: at 50 one question is 2 points, the size of the retention target itself
NANO_PROBE_QUESTIONS ?= 500
NANO_DATA := $(NANO_OUT)/demos_math $(NANO_OUT)/demos_toy

.PHONY: nano
# the last step copies the trained model to checkpoints/chatvla2-nano with its card and scores
NANO_BUDGET = $(if $(NANO_INIT),NANO_INIT=$(NANO_INIT),NANO_READ_STEPS=$(NANO_READ_STEPS)) NANO_DEMOS=$(NANO_DEMOS) \
	NANO_VLM_STEPS=$(NANO_VLM_STEPS) NANO_COTRAIN_STEPS=$(NANO_COTRAIN_STEPS) NANO_ACTION_STEPS=$(NANO_ACTION_STEPS) \
	NANO_NAIVE_STEPS=$(NANO_NAIVE_STEPS) NANO_EVAL_EPISODES=$(NANO_EVAL_EPISODES) \
	$(if $(NANO_OBJECTIVE),NANO_OBJECTIVE=$(NANO_OBJECTIVE)) $(if $(NANO_ROLLOUTS),NANO_ROLLOUTS=$(NANO_ROLLOUTS)) \
	$(if $(NANO_ACTION_INIT),NANO_ACTION_INIT=$(NANO_ACTION_INIT)) \
	$(if $(NANO_NEAR_MISSES),NANO_NEAR_MISSES=$(NANO_NEAR_MISSES)) $(if $(NANO_PIXELS),NANO_PIXELS=$(NANO_PIXELS)) \
	$(if $(NANO_WRONG_PICKS),NANO_WRONG_PICKS=$(NANO_WRONG_PICKS)) $(if $(NANO_RECOVER_PICKS),NANO_RECOVER_PICKS=$(NANO_RECOVER_PICKS)) \
	$(if $(NANO_FOLLOW_PICKS),NANO_FOLLOW_PICKS=$(NANO_FOLLOW_PICKS)) \
	$(if $(NANO_CAMERA_SIZE),NANO_CAMERA_SIZE=$(NANO_CAMERA_SIZE)) \
	$(if $(NANO_CARD_LAYOUT),NANO_CARD_LAYOUT=$(NANO_CARD_LAYOUT)) $(if $(NANO_ADD_VIEWS),NANO_ADD_VIEWS="$(NANO_ADD_VIEWS)") \
	NANO_PROBE_QUESTIONS=$(NANO_PROBE_QUESTIONS)
# a round that starts from the shipped model continues it: its card keeps the earlier commands
PREVIOUS = $(or $(NANO_ACTION_INIT),$(NANO_INIT))
nano: $(NANO_OUT)/scores.jsonl
	$(PY) -m chatvla2_lite.training.ship --model $(NANO_OUT)/action/model --scores $(NANO_OUT)/scores.jsonl \
		--runs $(NANO_OUT) --command "make nano $(NANO_BUDGET)" $(if $(PREVIOUS),--previous $(PREVIOUS))

$(NANO_OUT)/demos_%/meta/info.json: | setup
	rm -rf $(NANO_OUT)/demos_$*
	$(CLI) record --task $(if $(filter math,$*),math_matching,toy_placement) --episodes $(NANO_DEMOS) --out $(NANO_OUT)/demos_$* \
		$(WORLD_FLAGS) --json

# Torch threads per stage. Stages render their image-text data up front, so one alone uses both cores;
# `make -j2 nano` runs recordings, cotrain and the naive baseline two at a time: give those NANO_THREADS=1.
NANO_THREADS ?= 2
TRAIN := $(CLI) train --threads $(NANO_THREADS)
# the action expert's objective from co-training on (flow_matching, ddim or regression); empty: keep the model's
NANO_OBJECTIVE ?=
OBJECTIVE_FLAG := $(if $(NANO_OBJECTIVE),--action-objective $(NANO_OBJECTIVE))
# scenes of scripted-expert rollouts the action stage reads besides the demos (one render per chunk; empty: none)
NANO_ROLLOUTS ?=
ROLLOUTS_FLAG := $(if $(NANO_ROLLOUTS),--rollouts $(NANO_ROLLOUTS))
# scenes where a decoy expert aims beside the object and a restarted one labels the way back (empty: none)
NANO_NEAR_MISSES ?=
NEAR_MISSES_FLAG := $(if $(NANO_NEAR_MISSES),--near-misses $(NANO_NEAR_MISSES))
# share of those near misses' math scenes whose decoy heads for another card (empty: none)
NANO_WRONG_PICKS ?=
WRONG_PICKS_FLAG := $(if $(NANO_WRONG_PICKS),--wrong-picks $(NANO_WRONG_PICKS))
# share of the rollouts' math scenes whose expert takes another card, with a reasoning that comes to it (empty: none)
NANO_FOLLOW_PICKS ?=
FOLLOW_PICKS_FLAG := $(if $(NANO_FOLLOW_PICKS),--follow-picks $(NANO_FOLLOW_PICKS))
# any value: the true expert takes the answer card on from where a wrong pick's decoy stopped (empty: no)
NANO_RECOVER_PICKS ?=
RECOVER_PICKS_FLAG := $(if $(NANO_RECOVER_PICKS),--recover-picks)
# cameras whose raw pixels the action expert also reads through its own small conv net (e.g. wrist; empty: none)
NANO_PIXELS ?=
PIXELS_FLAG := $(if $(NANO_PIXELS),--pixel-cameras $(NANO_PIXELS))
# the sim world the model learns in (sim/world.py): camera frame side (e.g. 448) and card layout (scattered or row);
# set on the first stage and the demos, and kept by every later stage from its --init model (empty: 224, scattered)
NANO_CAMERA_SIZE ?=
NANO_CARD_LAYOUT ?=
WORLD_FLAGS := $(if $(NANO_CAMERA_SIZE),--camera-size $(NANO_CAMERA_SIZE)) $(if $(NANO_CARD_LAYOUT),--card-layout $(NANO_CARD_LAYOUT))
# more views of the cameras for the backbone, from the first stage on (e.g. cards, for the row world at 448 px)
NANO_ADD_VIEWS ?=
VIEWS_FLAG := $(if $(NANO_ADD_VIEWS),--add-views $(NANO_ADD_VIEWS))
# the model the action stage starts from; NANO_ACTION_INIT=checkpoints/chatvla2-nano corrects the shipped policy's
# instead of starting over from co-training
NANO_ACTION_INIT ?=
ACTION_INIT := $(or $(NANO_ACTION_INIT),$(NANO_OUT)/cotrain/model)

$(NANO_OUT)/read/model/config.json: | setup
	$(TRAIN) --stage read --out $(NANO_OUT)/read --steps $(NANO_READ_STEPS) $(WORLD_FLAGS) $(VIEWS_FLAG) --json

# NANO_INIT=checkpoints/chatvla2-nano runs another round of the recipe on the shipped model instead of a read stage
# from scratch: a 2-core CPU gets further in two sessions than in one. The card then names both commands.
NANO_INIT ?=
VLM_INIT := $(or $(NANO_INIT),$(NANO_OUT)/read/model)

$(NANO_OUT)/vlm/model/config.json: | $(VLM_INIT)/config.json
	$(TRAIN) --stage vlm --init $(VLM_INIT) --out $(NANO_OUT)/vlm --steps $(NANO_VLM_STEPS) $(WORLD_FLAGS) $(VIEWS_FLAG) --json

$(NANO_OUT)/cotrain/model/config.json: $(NANO_OUT)/vlm/model/config.json $(NANO_OUT)/demos_math/meta/info.json $(NANO_OUT)/demos_toy/meta/info.json
	$(TRAIN) --stage cotrain --init $(NANO_OUT)/vlm/model --robot-data $(NANO_DATA) --out $(NANO_OUT)/cotrain --steps $(NANO_COTRAIN_STEPS) $(OBJECTIVE_FLAG) --json

$(NANO_OUT)/action/model/config.json: $(ACTION_INIT)/config.json $(NANO_OUT)/demos_math/meta/info.json $(NANO_OUT)/demos_toy/meta/info.json
	$(TRAIN) --stage action --init $(ACTION_INIT) --robot-data $(NANO_DATA) --out $(NANO_OUT)/action --steps $(NANO_ACTION_STEPS) \
		$(ROLLOUTS_FLAG) $(NEAR_MISSES_FLAG) $(WRONG_PICKS_FLAG) $(RECOVER_PICKS_FLAG) $(FOLLOW_PICKS_FLAG) $(PIXELS_FLAG) \ --json

# the naive baseline: same demos and step budget, whole model on robot data only, no MoE, nothing frozen
$(NANO_OUT)/naive/model/config.json: $(NANO_OUT)/vlm/model/config.json $(NANO_OUT)/demos_math/meta/info.json $(NANO_OUT)/demos_toy/meta/info.json
	$(TRAIN) --stage cotrain --recipe naive --init $(NANO_OUT)/vlm/model --robot-data $(NANO_DATA) --out $(NANO_OUT)/naive --steps $(NANO_NAIVE_STEPS) $(OBJECTIVE_FLAG) --json

# one score per file, so `make -j2 nano` runs them side by side; scores.jsonl gathers them for the card
NANO_SCORES := $(addprefix $(NANO_OUT)/scores/,probe_vlm.json probe_action.json probe_naive.json \
	eval_math_matching.json eval_toy_placement.json eval_counterfactual.json \
	true_reasoning_math_matching.json true_reasoning_toy_placement.json aim_math_matching.json aim_toy_placement.json)

$(NANO_OUT)/scores/probe_%.json: $(NANO_OUT)/%/model/config.json
	mkdir -p $(@D)
	$(CLI) probe --suite all --questions $(NANO_PROBE_QUESTIONS) --model $(NANO_OUT)/$*/model --json | tail -n 1 | sed "s/^{/{\"model\": \"$*\", /" > $@.tmp
	mv $@.tmp $@

# a score file from one measuring CLI call: its last line, the JSON, written whole or not at all
define score
	mkdir -p $(@D)
	$(CLI) $(1) --model $(NANO_OUT)/action/model --json | tail -n 1 > $@.tmp
	mv $@.tmp $@
endef

$(NANO_OUT)/scores/eval_%.json: $(NANO_OUT)/action/model/config.json
	$(call score,eval --task $* --episodes $(NANO_EVAL_EPISODES))

# the arm alone: the same episodes acted on the ground truth's reasoning
$(NANO_OUT)/scores/true_reasoning_%.json: $(NANO_OUT)/action/model/config.json
	$(call score,eval --task $* --episodes $(NANO_EVAL_EPISODES) --true-reasoning)

# open loop: hovering beside the object, how much of the offset the first chunk steers away
$(NANO_OUT)/scores/aim_%.json: $(NANO_OUT)/action/model/config.json
	$(call score,eval --task $* --episodes $(NANO_EVAL_EPISODES) --aim)

$(NANO_OUT)/scores/eval_counterfactual.json: $(NANO_OUT)/action/model/config.json
	$(call score,eval --task math_matching --episodes $$(($(NANO_EVAL_EPISODES) / 2)) --counterfactual)

$(NANO_OUT)/scores.jsonl: $(NANO_SCORES)
	cat $^ > $@
