#!/usr/bin/python3
"""PPQ 0.6.6 runner of bench/algorithms.sh (the one python file of the bench: PPQ is a python library).

    /usr/bin/python3 bench/lib/ppq_quantize.py --ppq DIR --model M.onnx --calib DIR --calibration ALGO --output Q.onnx

Runs on Debian's python3-torch / python3-onnx (CPU, nothing built). Quantizes M.onnx with PPQ's ONNX Runtime
quantizer changed to the scheme of ONNX Runtime's CPU int8 that QuantForge's onnxruntime backend targets:
uint8 asymmetric per-tensor activations, int8 symmetric per-channel Conv/ConvTranspose/Gemm weights (PPQ's
own ORT quantizer at this version uses int8 symmetric activations), constant MatMul weights int8 symmetric
per tensor, float biases (as PPQ exports them). Activations are calibrated with ALGO (percentile, mse or
minmax); everything else is PPQ's default setting. Writes the QDQ model to Q.onnx; exits 1 with one line
"PPQ failed: <reason>" on stderr when PPQ cannot quantize or export the model.
"""
import argparse
import os
import sys


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument('--ppq', required=True, help='PPQ source folder (holds ppq/)')
    parser.add_argument('--model', required=True)
    parser.add_argument('--calib', required=True, help='folder of sample_*/<input>.npy')
    parser.add_argument('--calibration', required=True, choices=['percentile', 'mse', 'minmax'])
    parser.add_argument('--output', required=True)
    return parser.parse_args()


def load_samples(folder, input_names):
    import numpy as np
    import torch
    samples = []
    for sample in sorted(d for d in os.listdir(folder) if d.startswith('sample_')):
        feed = {}
        for name in input_names:
            file = os.path.join(folder, sample, sanitize(name) + '.npy')
            feed[name] = torch.from_numpy(np.load(file))
        samples.append(feed)
    if not samples:
        raise RuntimeError(f'no sample_* folder in {folder}')
    return samples


def sanitize(name):
    # tools/oracle/lib/npy.js: characters other than [A-Za-z0-9._-] become '_'
    return ''.join(c if c.isalnum() or c in '._-' else '_' for c in name)


def asym_ort_quantizer():
    from ppq.core import (QuantizationPolicy, QuantizationProperty, TargetPlatform)
    from ppq.quantization.quantizer import OnnxruntimeQuantizer

    class AsymOrtQuantizer(OnnxruntimeQuantizer):
        """PPQ's ORT quantizer with uint8 asymmetric per-tensor activations."""
        def __init__(self, graph):
            super().__init__(graph=graph)
            self._quant_min, self._quant_max = 0, 255

        def init_quantize_config(self, operation):
            config = super().init_quantize_config(operation)
            if operation.type == 'MatMul' and len(operation.inputs) > 1 and operation.inputs[1].is_parameter:
                weight = config.input_quantization_config[1]
                weight._quant_min, weight._quant_max = -128, 127
                weight.policy = QuantizationPolicy(QuantizationProperty.SYMMETRICAL + QuantizationProperty.LINEAR
                                                   + QuantizationProperty.PER_TENSOR)
                weight.observer_algorithm = 'minmax'
            return config

        @property
        def quantize_policy(self):
            return QuantizationPolicy(QuantizationProperty.ASYMMETRICAL + QuantizationProperty.LINEAR
                                      + QuantizationProperty.PER_TENSOR)

    return AsymOrtQuantizer, TargetPlatform.ONNXRUNTIME


def main():
    args = parse_args()
    sys.path.insert(0, os.path.abspath(args.ppq))
    import onnx
    from ppq.api import QuantizationSettingFactory, export_ppq_graph, quantize_onnx_model
    from ppq.lib import register_network_quantizer

    quantizer, platform = asym_ort_quantizer()
    register_network_quantizer(quantizer, platform)
    model = onnx.load(args.model)
    initializers = {i.name for i in model.graph.initializer}
    input_names = [i.name for i in model.graph.input if i.name not in initializers]
    samples = load_samples(args.calib, input_names)
    # PPQ refuses fewer than 8 calibration steps; cycling the samples keeps every one equally weighted.
    steps = samples * -(-8 // len(samples))

    setting = QuantizationSettingFactory.default_setting()
    setting.quantize_activation_setting.calib_algorithm = args.calibration
    graph = quantize_onnx_model(
        onnx_import_file=args.model, calib_dataloader=steps, calib_steps=len(steps), input_shape=None,
        inputs=samples[0], platform=platform, setting=setting, collate_fn=lambda x: x, device='cpu')
    export_ppq_graph(graph=graph, platform=platform, graph_save_to=args.output)
    restore_io_shapes(model, args.output)


def restore_io_shapes(float_model, exported_file):
    """PPQ exports the shapes it traced with (the first sample's): give the graph inputs and outputs the
    float model's declared shapes back (dynamic image sides) and drop the traced intermediate shapes, so
    the QDQ model runs on every sample the float model runs on. The quantization itself is untouched."""
    import onnx
    exported = onnx.load(exported_file)
    declared = {v.name: v.type for v in list(float_model.graph.input) + list(float_model.graph.output)}
    for value in list(exported.graph.input) + list(exported.graph.output):
        if value.name in declared:
            value.type.CopyFrom(declared[value.name])
    del exported.graph.value_info[:]
    onnx.save(exported, exported_file)


def short_reason(error):
    """"<node> (<op>): <cause>" for PPQ's "Op Execution Error: <node>(Type: <op>, ...)" wrapper, else the error."""
    import re
    match = re.match(r'Op Execution Error: (\S+)\(Type: (\w+)', str(error))
    if match and error.__cause__ is not None:
        cause = error.__cause__
        text = ' '.join(str(a) for a in cause.args) if isinstance(cause, KeyError) else str(cause)
        return f'{match.group(1)} ({match.group(2)}): {text}'
    return f'{type(error).__name__}: {error}'


if __name__ == '__main__':
    try:
        main()
    except Exception as error:  # one line for the table; PPQ's traceback went to the log above
        import traceback
        traceback.print_exc()
        reason = ' '.join(short_reason(error).split())
        print(f'PPQ failed: {reason[:300]}', file=sys.stderr)
        sys.exit(1)
