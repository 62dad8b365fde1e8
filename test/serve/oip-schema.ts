/*
 * The Open Inference Protocol's REST payloads as JSON Schema, transcribed from the protocol's own
 * OpenAPI file (kserve/open-inference-protocol, specification/protocol/open_inference_rest.yaml,
 * components.schemas) plus the health payloads of inference_rest.md, which the YAML leaves out.
 * `additionalProperties` is left open where the protocol leaves it open.
 */

const parameters = { type: 'object' };
const tensorData = { $id: 'tensor_data', type: 'array', items: { anyOf: [{ $ref: 'tensor_data' }, { type: 'number' }, { type: 'string' }, { type: 'boolean' }] } };
const metadataTensor = {
  type: 'object',
  properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } },
  required: ['name', 'datatype', 'shape'],
};
const error = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] };

export const OIP_SCHEMAS = {
  tensor_data: tensorData,
  metadata_server_response: {
    type: 'object',
    properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } },
    required: ['name', 'version', 'extensions'],
  },
  metadata_model_response: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      versions: { type: 'array', items: { type: 'string' } },
      platform: { type: 'string' },
      inputs: { type: 'array', items: metadataTensor },
      outputs: { type: 'array', items: metadataTensor },
    },
    required: ['name', 'platform'],
  },
  inference_request: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      parameters,
      inputs: {
        type: 'array',
        items: {
          type: 'object',
          properties: { name: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } }, datatype: { type: 'string' }, parameters, data: { $ref: 'tensor_data' } },
          required: ['name', 'shape', 'datatype', 'data'],
        },
      },
      outputs: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, parameters }, required: ['name'] } },
    },
    required: ['inputs'],
  },
  inference_response: {
    type: 'object',
    properties: {
      model_name: { type: 'string' },
      model_version: { type: 'string' },
      id: { type: 'string' },
      parameters,
      outputs: {
        type: 'array',
        items: {
          type: 'object',
          properties: { name: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } }, datatype: { type: 'string' }, parameters, data: { $ref: 'tensor_data' } },
          required: ['name', 'shape', 'datatype', 'data'],
        },
      },
    },
    required: ['model_name', 'outputs'],
  },
  error_response: error,
  live_server_response: { type: 'object', properties: { live: { type: 'boolean' } }, required: ['live'] },
  ready_server_response: { type: 'object', properties: { ready: { type: 'boolean' } }, required: ['ready'] },
  ready_model_response: { type: 'object', properties: { name: { type: 'string' }, ready: { type: 'boolean' } }, required: ['name', 'ready'] },
} as const;

export type OipSchemaName = Exclude<keyof typeof OIP_SCHEMAS, 'tensor_data'>;
