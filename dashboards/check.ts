/**
 * Checks Kibana saved-object NDJSON the way an import would trip over it, plus what Kibana cannot check for
 * us: that every field a panel uses exists in the Elasticsearch index templates with a type fit for the use.
 * Pure functions returning problem lists, so the test can also prove that a broken file is caught.
 */

export interface Reference {
  type: string;
  id: string;
  name: string;
}

export interface SavedObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: Reference[];
  /** `file:line`, for messages. */
  where: string;
}

/** Concrete Elasticsearch type per field path (aliases resolved to their target's type). */
export type FieldTypes = ReadonlyMap<string, string>;

/** The fields behind a data view, found by its title (index pattern); undefined when no template matches. */
export type FieldsForPattern = (pattern: string) => FieldTypes | undefined;

type Use = 'aggregate' | 'numeric' | 'numeric-or-date' | 'date' | 'display' | 'query';

const AGGREGATABLE = new Set([
  'keyword',
  'long',
  'integer',
  'short',
  'byte',
  'float',
  'double',
  'date',
  'ip',
  'boolean',
]);
const NUMERIC = new Set(['long', 'integer', 'short', 'byte', 'float', 'double']);
const FITS: Record<Use, (type: string) => boolean> = {
  aggregate: (type) => AGGREGATABLE.has(type),
  numeric: (type) => NUMERIC.has(type),
  'numeric-or-date': (type) => NUMERIC.has(type) || type === 'date',
  date: (type) => type === 'date',
  display: () => true,
  query: () => true,
};

/** Lens operations and what each needs of its field; `___records___` is Lens' "count of documents". */
const OPERATION_USE: Record<string, Use> = {
  count: 'display',
  date_histogram: 'date',
  terms: 'aggregate',
  unique_count: 'aggregate',
  sum: 'numeric',
  average: 'numeric',
  median: 'numeric',
  percentile: 'numeric',
  standard_deviation: 'numeric',
  min: 'numeric-or-date',
  max: 'numeric-or-date',
  last_value: 'display',
};
const RECORDS_FIELD = '___records___';

export const SAVED_OBJECT_TYPES = new Set(['index-pattern', 'lens', 'search', 'dashboard']);

/** Top-level dashboard attributes Kibana's dashboard schema accepts; it refuses unknown ones. */
const DASHBOARD_ATTRIBUTES = new Set([
  'title',
  'description',
  'kibanaSavedObjectMeta',
  'timeRestore',
  'timeFrom',
  'timeTo',
  'refreshInterval',
  'controlGroupInput',
  'panelsJSON',
  'optionsJSON',
  'hits',
  'version',
]);
const LENS_VISUALIZATIONS = new Set(['lnsXY', 'lnsPie', 'lnsDatatable', 'lnsMetric']);
const GRID_COLUMNS = 48;

export function parseNdjson(text: string, file: string): { objects: SavedObject[]; problems: string[] } {
  const objects: SavedObject[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const where = `${file}:${index + 1}`;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problems.push(`${where}: not JSON (${(error as Error).message})`);
      return;
    }
    const object = asSavedObject(value, where, problems);
    if (object) objects.push(object);
  });
  return { objects, problems };
}

function asSavedObject(value: unknown, where: string, problems: string[]): SavedObject | undefined {
  if (!isRecord(value)) return void problems.push(`${where}: not an object`);
  const { type, id, attributes, references } = value;
  if (typeof type !== 'string' || typeof id !== 'string' || id === '')
    return void problems.push(`${where}: needs string "type" and non-empty "id"`);
  if (!isRecord(attributes))
    return void problems.push(`${where}: ${type}/${id}: "attributes" must be an object`);
  if (!Array.isArray(references) || !references.every(isReference))
    return void problems.push(`${where}: ${type}/${id}: "references" must be an array of {type, id, name}`);
  return { type, id, attributes, references, where: `${where} ${type}/${id}` };
}

/** Every problem across the objects of all files, checked together (references cross files). */
export function checkSavedObjects(objects: readonly SavedObject[], fieldsFor: FieldsForPattern): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, SavedObject>();
  for (const object of objects) {
    const key = `${object.type}/${object.id}`;
    if (byKey.has(key)) problems.push(`${object.where}: duplicate of ${byKey.get(key)?.where}`);
    byKey.set(key, object);
    if (!SAVED_OBJECT_TYPES.has(object.type)) problems.push(`${object.where}: unexpected type`);
  }
  const context: Context = { byKey, fieldsFor, problems };
  for (const object of objects) {
    for (const reference of object.references) {
      if (!byKey.has(`${reference.type}/${reference.id}`))
        problems.push(
          `${object.where}: reference ${reference.name} → ${reference.type}/${reference.id} is not defined`,
        );
    }
    CHECKS[object.type]?.(object, context);
  }
  return problems;
}

interface Context {
  byKey: ReadonlyMap<string, SavedObject>;
  fieldsFor: FieldsForPattern;
  problems: string[];
}

function reporter(context: Context, where: string): (text: string) => void {
  return (text) => {
    context.problems.push(`${where}: ${text}`);
  };
}

const CHECKS: Record<string, (object: SavedObject, context: Context) => void> = {
  'index-pattern': checkDataView,
  lens: checkLens,
  search: checkSearch,
  dashboard: checkDashboard,
};

function checkDataView(object: SavedObject, context: Context): void {
  const { attributes: a } = object;
  const report = reporter(context, object.where);
  for (const key of ['fields', 'fieldFormatMap', 'runtimeFieldMap', 'sourceFilters'])
    if (a[key] !== undefined) parseJsonAttribute(a[key], key, report);
  if (typeof a.title !== 'string') {
    report('data view without a title');
    return;
  }
  const fields = context.fieldsFor(a.title);
  if (!fields) {
    report(`title ${a.title} matches no index template pattern`);
    return;
  }
  if (typeof a.timeFieldName !== 'string') report('no timeFieldName');
  else useField(fields, a.timeFieldName, 'date', 'timeFieldName', report);
  const fieldAttrs = parseJsonAttribute(a.fieldAttrs ?? '{}', 'fieldAttrs', report);
  if (isRecord(fieldAttrs))
    for (const field of Object.keys(fieldAttrs)) useField(fields, field, 'display', 'fieldAttrs', report);
}

function checkLens(object: SavedObject, context: Context): void {
  const report = reporter(context, object.where);
  const { visualizationType, state } = object.attributes;
  if (typeof visualizationType !== 'string' || !LENS_VISUALIZATIONS.has(visualizationType))
    report(
      `visualizationType ${String(visualizationType)} is not one of ${[...LENS_VISUALIZATIONS].join(', ')}`,
    );
  const layers = isRecord(state) ? dig(state, 'datasourceStates', 'formBased', 'layers') : undefined;
  if (!isRecord(state) || !isRecord(layers) || Object.keys(layers).length === 0) {
    report('no state.datasourceStates.formBased.layers');
    return;
  }
  const query = isRecord(state.query) ? state.query.query : '';
  const columnsByLayer = new Map<string, Set<string>>();
  for (const [layerId, layer] of Object.entries(layers)) {
    const fields = dataViewFields(object, `indexpattern-datasource-layer-${layerId}`, context, report);
    const columns = isRecord(layer) && isRecord(layer.columns) ? layer.columns : {};
    const ids = new Set(Object.keys(columns));
    columnsByLayer.set(layerId, ids);
    const order = isRecord(layer) && Array.isArray(layer.columnOrder) ? layer.columnOrder : [];
    if (order.length !== ids.size || !order.every((id) => typeof id === 'string' && ids.has(id)))
      report(`layer ${layerId}: columnOrder does not list exactly its columns`);
    if (!fields) continue;
    for (const [columnId, column] of Object.entries(columns))
      checkLensColumn(column, `layer ${layerId} column ${columnId}`, ids, fields, report);
    for (const field of kqlFields(typeof query === 'string' ? query : ''))
      useField(fields, field, 'query', 'state.query', report);
  }
  for (const [layerId, accessor] of visualizationAccessors(state.visualization)) {
    if (!columnsByLayer.get(layerId)?.has(accessor))
      report(`visualization uses column ${accessor} that layer ${layerId} does not have`);
  }
}

function checkLensColumn(
  column: unknown,
  label: string,
  columnIds: ReadonlySet<string>,
  fields: FieldTypes,
  report: (text: string) => void,
): void {
  if (!isRecord(column)) {
    report(`${label}: not an object`);
    return;
  }
  const { operationType, sourceField, params, filter } = column;
  const use = typeof operationType === 'string' ? OPERATION_USE[operationType] : undefined;
  if (!use) {
    report(`${label}: operationType ${String(operationType)} is not checked here`);
    return;
  }
  if (typeof sourceField !== 'string') {
    report(`${label}: no sourceField`);
    return;
  }
  if (sourceField !== RECORDS_FIELD) useField(fields, sourceField, use, label, report);
  const orderBy = isRecord(params) && isRecord(params.orderBy) ? params.orderBy : undefined;
  if (orderBy?.type === 'column' && !columnIds.has(String(orderBy.columnId)))
    report(`${label}: orders by missing column ${String(orderBy.columnId)}`);
  if (isRecord(filter) && typeof filter.query === 'string')
    for (const field of kqlFields(filter.query)) useField(fields, field, 'query', `${label} filter`, report);
}

/** (layerId, columnId) pairs a Lens visualization state points at, per visualization shape. */
function visualizationAccessors(visualization: unknown): Array<[string, string]> {
  if (!isRecord(visualization)) return [];
  const pairs: Array<[string, string]> = [];
  const add = (layerId: unknown, ...accessors: unknown[]) => {
    for (const accessor of accessors.flat())
      if (typeof layerId === 'string' && typeof accessor === 'string') pairs.push([layerId, accessor]);
  };
  if (Array.isArray(visualization.layers)) {
    // lnsXY and lnsPie keep one entry per layer.
    for (const layer of visualization.layers.filter(isRecord)) {
      add(layer.layerId, layer.xAccessor, layer.splitAccessor, layer.accessors ?? []);
      add(layer.layerId, layer.primaryGroups ?? [], layer.secondaryGroups ?? [], layer.metrics ?? []);
    }
  } else {
    const { layerId, columns, sorting } = visualization;
    // lnsDatatable and lnsMetric hold a single layer.
    add(layerId, visualization.metricAccessor, visualization.secondaryMetricAccessor);
    add(layerId, visualization.maxAccessor, visualization.breakdownByAccessor);
    if (Array.isArray(columns))
      add(
        layerId,
        columns.filter(isRecord).map((column) => column.columnId),
      );
    if (isRecord(sorting)) add(layerId, sorting.columnId);
  }
  return pairs;
}

function checkSearch(object: SavedObject, context: Context): void {
  const report = reporter(context, object.where);
  const { columns, sort, kibanaSavedObjectMeta } = object.attributes;
  const source = parseJsonAttribute(
    isRecord(kibanaSavedObjectMeta) ? kibanaSavedObjectMeta.searchSourceJSON : undefined,
    'kibanaSavedObjectMeta.searchSourceJSON',
    report,
  );
  if (!isRecord(source)) return;
  if (typeof source.indexRefName !== 'string') {
    report('searchSourceJSON has no indexRefName');
    return;
  }
  const fields = dataViewFields(object, source.indexRefName, context, report);
  if (!fields) return;
  if (!Array.isArray(columns) || columns.length === 0) report('no columns');
  else for (const column of columns) useField(fields, String(column), 'display', 'columns', report);
  if (!Array.isArray(sort) || sort.length === 0) report('no sort');
  else
    for (const entry of sort) {
      const [field, direction] = Array.isArray(entry) ? entry : [];
      if (direction !== 'asc' && direction !== 'desc')
        report(`sort ${JSON.stringify(entry)}: direction asc|desc`);
      useField(fields, String(field), 'aggregate', 'sort', report);
    }
  const query = isRecord(source.query) ? source.query.query : '';
  for (const field of kqlFields(typeof query === 'string' ? query : ''))
    useField(fields, field, 'query', 'query', report);
  for (const filter of Array.isArray(source.filter) ? source.filter : []) {
    const key = isRecord(filter) && isRecord(filter.meta) ? filter.meta.key : undefined;
    if (typeof key === 'string') useField(fields, key, 'query', 'filter', report);
  }
}

function checkDashboard(object: SavedObject, context: Context): void {
  const { attributes: a } = object;
  const report = reporter(context, object.where);
  for (const key of Object.keys(a)) if (!DASHBOARD_ATTRIBUTES.has(key)) report(`unknown attribute ${key}`);
  parseJsonAttribute(a.optionsJSON, 'optionsJSON', report);
  parseJsonAttribute(
    isRecord(a.kibanaSavedObjectMeta) ? a.kibanaSavedObjectMeta.searchSourceJSON : undefined,
    'kibanaSavedObjectMeta.searchSourceJSON',
    report,
  );
  const used = new Set<string>();
  const panels = parseJsonAttribute(a.panelsJSON, 'panelsJSON', report);
  if (!Array.isArray(panels) || panels.length === 0) {
    report('panelsJSON has no panels');
    return;
  }
  checkPanels(object, panels, used, report);
  if (a.controlGroupInput !== undefined) checkControls(object, a.controlGroupInput, used, context, report);
  for (const reference of object.references)
    if (!used.has(reference.name)) report(`reference ${reference.name} is used by no panel or control`);
}

function checkPanels(
  object: SavedObject,
  panels: unknown[],
  used: Set<string>,
  report: (text: string) => void,
): void {
  const cells = new Map<string, string>();
  for (const panel of panels) {
    if (!isRecord(panel) || typeof panel.panelIndex !== 'string') {
      report('a panel without panelIndex');
      continue;
    }
    const label = `panel ${panel.panelIndex}`;
    const box = gridBox(panel.gridData);
    if (!isRecord(panel.gridData) || panel.gridData.i !== panel.panelIndex)
      report(`${label}: gridData.i must equal panelIndex`);
    if (!box) report(`${label}: gridData must be whole numbers within ${GRID_COLUMNS} columns`);
    else {
      const overlapped = occupy(cells, box, label);
      if (overlapped) report(`${label} overlaps ${overlapped}`);
    }
    const refName = `${panel.panelIndex}:${String(panel.panelRefName)}`;
    const reference = object.references.find((candidate) => candidate.name === refName);
    if (!reference) report(`${label}: no reference named ${refName}`);
    else if (reference.type !== panel.type)
      report(`${label}: type ${String(panel.type)} but references a ${reference.type}`);
    used.add(refName);
  }
}

function checkControls(
  object: SavedObject,
  input: unknown,
  used: Set<string>,
  context: Context,
  report: (text: string) => void,
): void {
  if (!isRecord(input)) {
    report('controlGroupInput must be an object');
    return;
  }
  parseJsonAttribute(input.ignoreParentSettingsJSON, 'controlGroupInput.ignoreParentSettingsJSON', report);
  const controls = parseJsonAttribute(input.panelsJSON, 'controlGroupInput.panelsJSON', report);
  if (!isRecord(controls)) return;
  for (const [controlId, control] of Object.entries(controls)) {
    const explicit = isRecord(control) ? control.explicitInput : undefined;
    if (!isRecord(control) || control.type !== 'optionsListControl' || !isRecord(explicit)) {
      report(`control ${controlId}: expected an optionsListControl with explicitInput`);
      continue;
    }
    if (explicit.id !== controlId) report(`control ${controlId}: explicitInput.id differs`);
    const refName = `controlGroup_${controlId}:optionsListDataView`;
    used.add(refName);
    const fields = dataViewFields(object, refName, context, report);
    if (fields) useField(fields, String(explicit.fieldName), 'aggregate', `control ${controlId}`, report);
  }
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function gridBox(grid: unknown): Box | undefined {
  if (!isRecord(grid)) return undefined;
  const { x, y, w, h } = grid;
  const whole = [x, y, w, h].every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0);
  if (!whole) return undefined;
  const box = { x, y, w, h } as Box;
  return box.w > 0 && box.h > 0 && box.x + box.w <= GRID_COLUMNS ? box : undefined;
}

/** Marks the panel's grid cells; returns the panel already holding one of them, if any. */
function occupy(cells: Map<string, string>, box: Box, label: string): string | undefined {
  for (let row = box.y; row < box.y + box.h; row++)
    for (let col = box.x; col < box.x + box.w; col++) {
      const other = cells.get(`${row},${col}`);
      if (other) return other;
      cells.set(`${row},${col}`, label);
    }
  return undefined;
}

/** The fields of the data view a named reference points at. */
function dataViewFields(
  object: SavedObject,
  referenceName: string,
  context: Context,
  report: (text: string) => void,
): FieldTypes | undefined {
  const reference = object.references.find((candidate) => candidate.name === referenceName);
  if (reference?.type !== 'index-pattern')
    return void report(`no index-pattern reference named ${referenceName}`);
  const title = context.byKey.get(`index-pattern/${reference.id}`)?.attributes.title;
  return typeof title === 'string' ? context.fieldsFor(title) : undefined;
}

function useField(
  fields: FieldTypes,
  field: string,
  use: Use,
  label: string,
  report: (text: string) => void,
): void {
  const type = fields.get(field);
  if (type === undefined) report(`${label}: field ${field} is not in the index template`);
  else if (!FITS[use](type)) report(`${label}: field ${field} is ${type}, not usable for ${use}`);
}

/** Field names in a KQL query (`field : value`, `field >= n`); quoted values are blanked first. */
export function kqlFields(query: string): string[] {
  const unquoted = query.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...unquoted.matchAll(/(?:^|[\s(])([A-Za-z@_][\w.@-]*)\s*(?::|<=|>=|<|>)/g)].map(
    (match) => match[1]!,
  );
}

function parseJsonAttribute(value: unknown, name: string, report: (text: string) => void): unknown {
  if (typeof value !== 'string') return void report(`${name} must be a JSON string`);
  try {
    return JSON.parse(value);
  } catch (error) {
    return void report(`${name} is not valid JSON (${(error as Error).message})`);
  }
}

function isReference(value: unknown): value is Reference {
  return (
    isRecord(value) &&
    typeof value.type === 'string' &&
    typeof value.id === 'string' &&
    typeof value.name === 'string'
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dig(value: Record<string, unknown>, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}
