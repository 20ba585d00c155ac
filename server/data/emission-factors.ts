/**
 * Loads the emission factor data file for the (I/O-free) CO2 core.
 * Not part of the pure core: it reads a JSON module.
 */
import type { EmissionFactors } from '../core/co2.ts';
import data from './emission-factors.json' with { type: 'json' };

/** The emission factors in use, with their source named in `source`. */
export const emissionFactors: EmissionFactors = data;

/**
 * TEU one road truck carries, for "trucks avoided" = round(booked TEU / teuPerTruck): 2 (one 40-ft or two
 * 20-ft containers). The assumption and its reasoning are in `teuPerTruckNote` of the data file.
 */
export const teuPerTruck: number = data.teuPerTruck;

export default emissionFactors;
