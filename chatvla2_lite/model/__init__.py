"""The ChatVLA-2 model: config, network, processor and the inference API (`ChatVLA2`), with their parts.

`configuration_chatvla2`, `modeling_chatvla2`, `processing_chatvla2` and `policy_chatvla2` as in transformers; the
parts they are made of: `moe` (the dynamic mixture-of-experts), `reasoning_following`, `action_expert`,
`pixel_encoder` and `tokenizer_nano`. Nothing here imports the simulator: the world a model was trained in is plain
data in its processor config.
"""
